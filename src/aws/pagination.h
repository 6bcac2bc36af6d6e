// Following the pages of a paginated AWS read (IVS nextToken, DynamoDB
// LastEvaluatedKey) with caps on pages and items, so that a server that keeps
// paging, or a range too large to hold, ends the read with an error that says
// so. Thread-safe as far as its callback is.
#pragma once

#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <string_view>

#include "core/result.h"

namespace headcount::aws {

struct PageLimits {
  int max_pages = 1;          // pages read at most; at least 1
  std::size_t max_items = 1;  // items gathered at most, over every page; at least 1
};

// What the caller found on one page.
struct PageRead {
  std::size_t items = 0;          // how many items the page held (the caller keeps them)
  nlohmann::json next = nullptr;  // where the next page starts; null or "" on the last page
};

// Reads one page: `page` counts from 1, `token` is null for the first page
// and the previous page's `next` after that.
using ReadPageFunction = std::function<Result<PageRead>(int page, const nlohmann::json& token)>;

// Calls read_page for page 1, 2, ... until a page has no `next`; OK once the
// last page is read. Fails with read_page's own error, unchanged, or with
// kRejected naming `what` when the read would pass limits.max_pages pages or
// has passed limits.max_items items (the message names the cap), or when a
// page's `next` repeats the token it was read with (a server that would page
// forever).
Status ReadAllPages(std::string_view what, const PageLimits& limits,
                    const ReadPageFunction& read_page);

}  // namespace headcount::aws
