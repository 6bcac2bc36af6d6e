// ReadAllPages. Thread-safe as far as its callback is.
#include "aws/pagination.h"

#include <string>
#include <utility>

namespace headcount::aws {
namespace {

bool IsLastPage(const nlohmann::json& next) {
  return next.is_null() || (next.is_string() && next.get_ref<const std::string&>().empty());
}

}  // namespace

Status ReadAllPages(std::string_view what, const PageLimits& limits,
                    const ReadPageFunction& read_page) {
  const std::string name(what);
  nlohmann::json token = nullptr;
  std::size_t items = 0;
  for (int page = 1;; ++page) {
    if (page > limits.max_pages) {
      return Error::Rejected(name + ": still paging after " + std::to_string(limits.max_pages) +
                             " pages (the cap); stopped");
    }
    Result<PageRead> read = read_page(page, token);
    if (!read.ok()) return read.error();
    items += read->items;
    if (items > limits.max_items) {
      return Error::Rejected(name + ": more than " + std::to_string(limits.max_items) +
                             " items (the cap) by page " + std::to_string(page) + "; stopped");
    }
    if (IsLastPage(read->next)) return {};
    if (read->next == token) {
      return Error::Rejected(name + ": page " + std::to_string(page) +
                             " repeats the token it was read with");
    }
    token = std::move(read->next);
  }
}

}  // namespace headcount::aws
