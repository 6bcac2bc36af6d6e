#include "ivs_emulator/channels.h"

#include <gtest/gtest.h>

#include <set>

namespace headcount::ivs_emulator {
namespace {

const WallTime kStart = std::chrono::sys_days{std::chrono::year{2026} / 11 / 25};

ChannelSetOptions Options(std::size_t count, std::string_view viewers, double offline = 0) {
  ChannelSetOptions o;
  o.count = count;
  o.viewers = *ViewerModel::Parse(viewers);
  o.offline_fraction = offline;
  o.seed = 42;
  return o;
}

TEST(ViewerModelTest, ParsesTheThreeForms) {
  const auto fixed = ViewerModel::Parse("fixed:7");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->kind, ViewerModel::Kind::kFixed);
  EXPECT_EQ(fixed->fixed, 7);
  const auto walk = ViewerModel::Parse("random:100:3");
  ASSERT_TRUE(walk.ok());
  EXPECT_EQ(walk->start, 100);
  EXPECT_EQ(walk->step, 3);
  const auto script = ViewerModel::Parse("script:60=5,0=1");
  ASSERT_TRUE(script.ok());
  ASSERT_EQ(script->script.size(), 2u);
  EXPECT_EQ(script->script[0].second, 1);  // sorted by time
  for (const char* bad : {"", "fixed", "fixed:-1", "fixed:x", "random:1", "random:1:2:3",
                          "script:", "script:5", "script:a=1", "walk:1"}) {
    EXPECT_FALSE(ViewerModel::Parse(bad).ok()) << bad;
  }
}

TEST(TagRuleTest, ParsesAndRefuses) {
  auto rule = TagRule::Parse("3:team=blue=ish");
  ASSERT_TRUE(rule.ok()) << rule.error().message();
  EXPECT_EQ(rule->every, 3u);
  EXPECT_EQ(rule->key, "team");
  EXPECT_EQ(rule->value, "blue=ish");
  EXPECT_TRUE(TagRule::Parse("1:empty=").ok());
  const std::vector<std::string> bad_rules = {"team=blue",
                                              "0:team=blue",
                                              "x:team=blue",
                                              "3:team",
                                              "3:=blue",
                                              "-1:a=b",
                                              "3:" + std::string(129, 'k') + "=v"};
  for (const std::string& bad : bad_rules) {
    EXPECT_FALSE(TagRule::Parse(bad).ok()) << bad;
  }
}

TEST(ChannelSetTest, TagRulesTagEveryNthChannel) {
  ChannelSetOptions o = Options(10, "fixed:1");
  o.tag_rules = {*TagRule::Parse("3:team=blue"), *TagRule::Parse("1:env=test"),
                 *TagRule::Parse("6:team=red")};
  const ChannelSet set(o, kStart);
  std::vector<std::string> blue;
  for (std::size_t i = 0; i < set.size(); ++i) {
    EXPECT_EQ(set.at(i).tags.at("env"), "test");
    const auto team = set.at(i).tags.find("team");
    if (team != set.at(i).tags.end() && team->second == "blue") blue.push_back(set.at(i).name);
  }
  // channel-00006 is blue by the first rule, then red by the later one.
  EXPECT_EQ(blue, (std::vector<std::string>{"channel-00003", "channel-00009"}));
  EXPECT_EQ(set.at(5).tags.at("team"), "red");
  EXPECT_TRUE(Options(1, "fixed:1").tag_rules.empty());
}

TEST(ChannelSetTest, SameSeedSameChannelsAndUniqueWellFormedIds) {
  ChannelSet a(Options(500, "fixed:1"), kStart);
  ChannelSet b(Options(500, "fixed:1"), kStart);
  std::set<std::string> ids;
  for (std::size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a.at(i).arn, b.at(i).arn);
    EXPECT_EQ(a.at(i).stream_id, b.at(i).stream_id);
    EXPECT_EQ(a.at(i).id.size(), kChannelIdLength);
    EXPECT_EQ(a.at(i).stream_id.size(), kStreamIdLength);
    EXPECT_EQ(a.at(i).arn, "arn:aws:ivs:us-west-2:123456789012:channel/" + a.at(i).id);
    EXPECT_EQ(a.FindByArn(a.at(i).arn), i);
    EXPECT_EQ(a.FindById(a.at(i).id), i);
    ids.insert(a.at(i).id);
  }
  EXPECT_EQ(ids.size(), 500u);
  EXPECT_EQ(a.at(0).name, "channel-00001");
  ChannelSetOptions other = Options(500, "fixed:1");
  other.seed = 43;
  EXPECT_NE(ChannelSet(other, kStart).at(0).id, a.at(0).id);
}

TEST(ChannelSetTest, OfflineFractionIsExact) {
  ChannelSet set(Options(300, "fixed:1", 0.25), kStart);
  std::size_t offline = 0;
  for (std::size_t i = 0; i < set.size(); ++i) offline += set.at(i).live ? 0 : 1;
  EXPECT_EQ(offline, 75u);
}

TEST(ChannelSetTest, RandomWalkIsDeterministicAndIndependentOfWhenItIsRead) {
  ChannelSet often(Options(20, "random:100:10"), kStart);
  ChannelSet once(Options(20, "random:100:10"), kStart);
  const WallTime end = kStart + std::chrono::minutes(30);
  for (WallTime t = kStart; t <= end; t += std::chrono::seconds(7)) {
    for (std::size_t i = 0; i < often.size(); ++i) (void)often.Viewers(i, t);
  }
  bool moved = false;
  for (std::size_t i = 0; i < once.size(); ++i) {
    const auto v = once.Viewers(i, end);
    EXPECT_EQ(v, often.Viewers(i, end)) << i;
    EXPECT_GE(v, 0);
    moved = moved || v != 100;
  }
  EXPECT_TRUE(moved);
  EXPECT_EQ(ChannelSet(Options(1, "random:100:10"), kStart).Viewers(0, kStart), 100);
}

TEST(ChannelSetTest, ScriptFollowsElapsedTime) {
  ChannelSet set(Options(2, "script:0=5,60=20,120=0"), kStart);
  EXPECT_EQ(set.Viewers(0, kStart), 5);
  EXPECT_EQ(set.Viewers(1, kStart + std::chrono::seconds(59)), 5);
  EXPECT_EQ(set.Viewers(0, kStart + std::chrono::seconds(60)), 20);
  EXPECT_EQ(set.Viewers(0, kStart + std::chrono::hours(1)), 0);
}

TEST(ChannelSetTest, OverrideAndLiveTransitions) {
  ChannelSet set(Options(1, "fixed:9"), kStart);
  ASSERT_TRUE(set.at(0).live);
  const std::string first_stream = set.at(0).stream_id;
  set.SetViewersOverride(0, -1);
  EXPECT_EQ(set.Viewers(0, kStart), -1);
  set.SetViewersOverride(0, std::nullopt);
  EXPECT_EQ(set.Viewers(0, kStart), 9);
  set.SetLive(0, false, kStart);
  EXPECT_FALSE(set.at(0).live);
  set.SetLive(0, true, kStart + std::chrono::minutes(5));
  EXPECT_NE(set.at(0).stream_id, first_stream);
  EXPECT_EQ(set.at(0).stream_start, kStart + std::chrono::minutes(5));
}

}  // namespace
}  // namespace headcount::ivs_emulator
