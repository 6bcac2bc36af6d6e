// The CMCD v2 parser: the encodings CTA-5004-B's event mode uses, the lines
// hls.js 1.7.4 sends (issue #22), what it refuses, and random input.
#include "heartbeat/cmcd_report.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace headcount {
namespace {

CmcdReport MustParse(std::string_view line) {
  Result<CmcdReport> r = ParseCmcdReport(line);
  EXPECT_TRUE(r.ok()) << line << ": " << (r.ok() ? "" : r.error().message());
  return r.ok() ? std::move(*r) : CmcdReport{};
}

// hls.js 1.7.4 in Chromium, cmcd.version 2 with an event target (the issue).
TEST(CmcdReportTest, ReadsTheLinesHlsJsSends) {
  const CmcdReport first =
      MustParse(R"(cid="live",e=t,sf=h,sid="9e235017-4a4b",sn=0,ts=1796614091436,v=2)");
  EXPECT_EQ(first.String("cid"), "live");
  EXPECT_EQ(first.TokenOrString("e"), "t");
  EXPECT_EQ(first.String("sid"), "9e235017-4a4b");
  EXPECT_EQ(first.Integer("ts"), 1796614091436);
  EXPECT_EQ(first.Integer("v"), 2);
  EXPECT_EQ(first.TokenOrString("sta"), std::nullopt);

  const CmcdReport playing = MustParse(
      R"(bl=(0),br=(0),cid="live",e=ps,mtp=(2500),sf=h,sid="9e235017-4a4b",sn=3,st=l,sta=p,ts=1796614091739,v=2)");
  EXPECT_EQ(playing.TokenOrString("sta"), "p");
  EXPECT_EQ(playing.TokenOrString("st"), "l");
  ASSERT_NE(playing.Find("mtp"), nullptr);
  EXPECT_EQ(*playing.Find("mtp"), CmcdValue(CmcdList{{std::int64_t{2500}}}));
  EXPECT_EQ(playing.fields().size(), 12U);

  const CmcdReport paused = MustParse(
      R"(bl=(3200),br=(0),cid="live",e=ps,mtp=(16400),sf=h,sid="9e235017-4a4b",sn=6,st=l,sta=a,ts=1796614099514,v=2)");
  EXPECT_EQ(paused.TokenOrString("sta"), "a");
}

// Reports in the shape of the standard's event-mode examples: play state
// and interval events, bare-key booleans, inner lists of several items,
// decimals, custom keys, any key order.
TEST(CmcdReportTest, ReadsEveryEncodingOfTheStandard) {
  const CmcdReport r = MustParse(
      R"(v=2,ts=1700000000000,sta=p,sid="6e2fb550-c457-11e9-bb97-0800200c9a66",e=ps,bg,nr,)"
      R"(br=(3200 1600),pr=1.25,com.example-mynumerickey=500,su=?0,bs=?1,ot=v,)"
      R"(cid="faec5fc2-ac30-11ea-bb37-0242ac130002",d=:aGVsbG8=:,lb=-5)");
  EXPECT_EQ(r.String("sid"), "6e2fb550-c457-11e9-bb97-0800200c9a66");
  EXPECT_EQ(r.TokenOrString("sta"), "p");
  EXPECT_EQ(*r.Find("bg"), CmcdValue(true));
  EXPECT_EQ(*r.Find("nr"), CmcdValue(true));
  EXPECT_EQ(*r.Find("su"), CmcdValue(false));
  EXPECT_EQ(*r.Find("bs"), CmcdValue(true));
  EXPECT_EQ(*r.Find("br"), CmcdValue(CmcdList{{std::int64_t{3200}, std::int64_t{1600}}}));
  EXPECT_EQ(*r.Find("pr"), CmcdValue(1.25));
  EXPECT_EQ(*r.Find("ot"), CmcdValue(CmcdToken{"v"}));
  EXPECT_EQ(*r.Find("d"), CmcdValue(CmcdBytes{"aGVsbG8="}));
  EXPECT_EQ(r.Integer("lb"), -5);
  EXPECT_EQ(r.Integer("com.example-mynumerickey"), 500);  // a custom key, read like any
}

TEST(CmcdReportTest, StringsUndoTheirEscapes) {
  const CmcdReport r = MustParse(R"(sid="a\"b\\c, d=e",cid="")");
  EXPECT_EQ(r.String("sid"), "a\"b\\c, d=e");
  EXPECT_EQ(r.String("cid"), "");
}

TEST(CmcdReportTest, ToleratesSpacesParametersAndRepeatedKeys) {
  const CmcdReport r =
      MustParse(R"(  sid="s" ,	sta=a, br=( 1 2;x=3 );y, sta=p;q=?1, ts=@1700000000  )");
  EXPECT_EQ(r.TokenOrString("sta"), "p");  // the last value, in the first place
  EXPECT_EQ(r.fields()[1].first, "sta");
  EXPECT_EQ(*r.Find("br"), CmcdValue(CmcdList{{std::int64_t{1}, std::int64_t{2}}}));
  EXPECT_EQ(r.Integer("ts"), 1700000000);
  // A string is a string, a token a token: sta as a string is read too.
  EXPECT_EQ(MustParse(R"(sid="s",sta="p")").TokenOrString("sta"), "p");
  EXPECT_EQ(MustParse(R"(sid=s)").String("sid"), std::nullopt);
}

TEST(CmcdReportTest, RefusesWhatIsNotADictionary) {
  for (const std::string_view bad : {
           "",
           "   ",
           "Sid=\"s\"",            // keys are lower case
           "sid=\"unclosed",       // string not closed
           "sid=\"bad\\escape\"",  // only \" and \\ escape
           "sid=\"tab\there\"",    // control characters
           "sid=\"s\",",           // trailing comma
           "sid=\"s\",,sta=p",     // empty member
           "sid=\"s\" sta=p",      // no comma
           "br=(1 2",              // list not closed
           "br=(1,2)",             // list items are space-separated
           "n=1234567890123456",   // 16 digits
           "n=1.2345",             // 4 decimals
           "n=-",                  // no digit
           "b=?2",                 // not a boolean
           "d=:abc",               // bytes not closed
           "e=%\"x\"",             // not a value
           "=1",                   // no key
           "sid=\"s\";",           // parameter without a key
           "ts=@1.5",              // a date is an integer
       }) {
    EXPECT_FALSE(ParseCmcdReport(bad).ok()) << bad;
  }
}

TEST(CmcdReportTest, BoundsKeysAndListItems) {
  std::string many;
  for (std::size_t i = 0; i <= kMaxCmcdKeys; ++i) many += (i ? ",k" : "k") + std::to_string(i);
  EXPECT_FALSE(ParseCmcdReport(many).ok());
  std::string list = "br=(";
  for (std::size_t i = 0; i <= kMaxCmcdListItems; ++i) list += "1 ";
  list += ")";
  EXPECT_FALSE(ParseCmcdReport(list).ok());
  // The same key a thousand times is one key.
  std::string repeated;
  for (int i = 0; i < 1000; ++i) repeated += i ? ",a=1" : "a=1";
  EXPECT_TRUE(ParseCmcdReport(repeated).ok());
}

TEST(CmcdReportTest, ABodyIsOneReportPerLine) {
  const CmcdBody body = ParseCmcdBody(
      "e=ps,sid=\"session-1\",ts=1700000000000,sta=p,v=2\r\n"
      "not a report\n"
      "\n"
      "e=t,sid=\"session-1\",ts=1700000001000,bl=(5000),v=2\n");
  ASSERT_EQ(body.reports.size(), 2U);
  EXPECT_EQ(body.bad_lines, 1U);
  EXPECT_EQ(body.reports[0].TokenOrString("sta"), "p");
  EXPECT_EQ(body.reports[1].TokenOrString("e"), "t");
  EXPECT_TRUE(ParseCmcdBody("").reports.empty());
  EXPECT_EQ(ParseCmcdBody("\n\n").bad_lines, 0U);

  std::string lines;
  for (std::size_t i = 0; i < kMaxCmcdLinesPerBody + 5; ++i) lines += "sid=\"s\"\n";
  const CmcdBody bounded = ParseCmcdBody(lines);
  EXPECT_EQ(bounded.reports.size(), kMaxCmcdLinesPerBody);
  EXPECT_EQ(bounded.bad_lines, 5U);
}

// Random bytes and mutated reports (run under ASan and UBSan in CI): the
// parser never reads out of bounds, never loops, and a line it accepts has
// at most kMaxCmcdKeys keys.
TEST(CmcdReportTest, RandomInputNeverCrashes) {
  std::mt19937 random(22);
  const std::string seeds[] = {
      R"(bl=(3200),br=(0),cid="live",e=ps,mtp=(16400),sf=h,sid="9e235017",sn=6,st=l,sta=a,ts=1796614099514,v=2)",
      R"(sid="a\"b\\c",br=(1 2;x=3);y,pr=1.25,d=:aGk=:,ts=@17,bg,su=?0)",
  };
  const std::string alphabet = "abz09=,;()\"\\?:@.-* \t\x01\x7f\xff";
  std::size_t accepted = 0;
  for (int round = 0; round < 20'000; ++round) {
    std::string line;
    if (round % 2 == 0) {
      line = seeds[random() % 2];
      const int edits = 1 + int(random() % 4);
      for (int e = 0; e < edits && !line.empty(); ++e) {
        const std::size_t at = random() % line.size();
        switch (random() % 3) {
          case 0:
            line[at] = alphabet[random() % alphabet.size()];
            break;
          case 1:
            line.erase(at, 1 + random() % 8);
            break;
          default:
            line.insert(at, 1, alphabet[random() % alphabet.size()]);
        }
      }
    } else {
      line.resize(random() % 200);
      for (char& c : line) c = static_cast<char>(random() % 256);
    }
    const Result<CmcdReport> r = ParseCmcdReport(line);
    if (r.ok()) {
      ++accepted;
      EXPECT_LE(r->fields().size(), kMaxCmcdKeys);
    }
    (void)ParseCmcdBody(line + "\n" + line);
  }
  EXPECT_GT(accepted, 0U);  // the mutations keep some lines valid
}

}  // namespace
}  // namespace headcount
