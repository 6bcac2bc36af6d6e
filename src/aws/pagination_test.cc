// ReadAllPages: following tokens to the last page, the page and item caps,
// a token that comes back, and errors passed through as they are.
#include "aws/pagination.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace headcount::aws {
namespace {

using nlohmann::json;

// Serves scripted pages and records the tokens it was asked with.
struct Pages {
  Result<PageRead> operator()(int page, const json& token) {
    pages_asked.push_back(page);
    tokens.push_back(token);
    if (static_cast<std::size_t>(page) > script.size()) return Error::Internal("read past the end");
    return script[page - 1];
  }

  std::vector<Result<PageRead>> script;
  std::vector<int> pages_asked;
  std::vector<json> tokens;
};

TEST(ReadAllPages, FollowsTokensToTheLastPage) {
  Pages pages;
  pages.script = {PageRead{3, "a"}, PageRead{3, {{"k", 1}}}, PageRead{2, nullptr}};
  Status read = ReadAllPages("list", {.max_pages = 10, .max_items = 100}, std::ref(pages));
  ASSERT_TRUE(read.ok()) << read.error().ToString();
  EXPECT_EQ(pages.pages_asked, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(pages.tokens, (std::vector<json>{nullptr, "a", {{"k", 1}}}));
}

TEST(ReadAllPages, AnEmptyStringTokenEndsTheRead) {
  Pages pages;
  pages.script = {PageRead{1, ""}};
  EXPECT_TRUE(ReadAllPages("list", {.max_pages = 10, .max_items = 100}, std::ref(pages)).ok());
  EXPECT_EQ(pages.pages_asked.size(), 1u);
}

TEST(ReadAllPages, StopsAtThePageCapAndSaysSo) {
  Pages pages;
  for (int i = 0; i < 5; ++i) pages.script.push_back(PageRead{0, "t" + std::to_string(i)});
  Status read =
      ReadAllPages("ivs ListStreams", {.max_pages = 3, .max_items = 100}, std::ref(pages));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(read.error().message(),
            "ivs ListStreams: still paging after 3 pages (the cap); stopped");
  EXPECT_EQ(pages.pages_asked.size(), 3u);  // the fourth page is never asked for
}

TEST(ReadAllPages, StopsAtTheItemCapAndSaysSo) {
  Pages pages;
  pages.script = {PageRead{4, "a"}, PageRead{4, "b"}, PageRead{4, nullptr}};
  Status read = ReadAllPages("Query", {.max_pages = 10, .max_items = 6}, std::ref(pages));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kRejected);
  EXPECT_EQ(read.error().message(), "Query: more than 6 items (the cap) by page 2; stopped");
  EXPECT_EQ(pages.pages_asked.size(), 2u);
  // Exactly at the cap is fine.
  Pages exact;
  exact.script = {PageRead{4, "a"}, PageRead{2, nullptr}};
  EXPECT_TRUE(ReadAllPages("Query", {.max_pages = 10, .max_items = 6}, std::ref(exact)).ok());
}

TEST(ReadAllPages, ATokenThatComesBackIsRejected) {
  Pages pages;
  pages.script = {PageRead{1, "same"}, PageRead{1, "same"}, PageRead{1, nullptr}};
  Status read = ReadAllPages("list", {.max_pages = 10, .max_items = 100}, std::ref(pages));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kRejected);
  EXPECT_NE(read.error().message().find("page 2 repeats the token"), std::string::npos);
}

TEST(ReadAllPages, APageErrorIsReturnedUnchanged) {
  Pages pages;
  pages.script = {PageRead{1, "a"}, Error::Unavailable("connection reset")};
  Status read = ReadAllPages("list", {.max_pages = 10, .max_items = 100}, std::ref(pages));
  ASSERT_FALSE(read.ok());
  EXPECT_EQ(read.error().code(), ErrorCode::kUnavailable);
  EXPECT_EQ(read.error().message(), "connection reset");
}

}  // namespace
}  // namespace headcount::aws
