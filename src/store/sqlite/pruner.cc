// Retention thread for the SQLite store, or any store with a prune pass.
// Thread-safe.
#include "store/sqlite/pruner.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "core/time_text.h"

namespace headcount {

Status Pruner::CheckOptions(const PrunerOptions& options) {
  if (options.retention.count() <= 0) {
    return Error::InvalidArgument("pruner: retention must be positive");
  }
  if (options.interval.count() <= 0) {
    return Error::InvalidArgument("pruner: interval must be positive");
  }
  return {};
}

std::unique_ptr<Pruner> Pruner::Launch(std::unique_ptr<Pruner> pruner) {
  pruner->thread_ = std::jthread([p = pruner.get()](const std::stop_token& stop) { p->Run(stop); });
  return pruner;
}

Result<std::unique_ptr<Pruner>> Pruner::Start(const std::filesystem::path& path, const Clock& clock,
                                              PrunerOptions options) {
  if (Status s = CheckOptions(options); !s.ok()) return s.error();
  if (options.store.read_only) {
    return Error::InvalidArgument("pruner: needs a writable store, not read_only");
  }
  Result<std::unique_ptr<SqliteStore>> store = SqliteStore::Open(path, options.store);
  if (!store.ok()) return store.error();
  // Owned by the function, which the Pruner owns.
  std::shared_ptr<SqliteStore> owned = std::move(store).value();
  PruneFunction prune = [owned](Seconds before, const std::stop_token& stop) {
    return owned->Prune(before, stop);
  };
  return Launch(
      std::unique_ptr<Pruner>(new Pruner(path.string(), std::move(prune), clock, options)));
}

Result<std::unique_ptr<Pruner>> Pruner::StartWith(std::string what, PruneFunction prune,
                                                  const Clock& clock, PrunerOptions options) {
  if (Status s = CheckOptions(options); !s.ok()) return s.error();
  if (!prune) return Error::InvalidArgument("pruner: no prune function");
  return Launch(
      std::unique_ptr<Pruner>(new Pruner(std::move(what), std::move(prune), clock, options)));
}

Pruner::Pruner(std::string what, PruneFunction prune, const Clock& clock, PrunerOptions options)
    : what_(std::move(what)), prune_(std::move(prune)), clock_(clock), options_(options) {}

Pruner::~Pruner() { Stop(); }

void Pruner::Stop() {
  std::lock_guard lock(stop_mu_);
  if (!thread_.joinable()) return;
  // The stop request wakes wake_.wait_for (it registers a stop callback) and
  // makes SqliteStore::Prune return after its current batch.
  thread_.request_stop();
  thread_.join();
}

void Pruner::Run(const std::stop_token& stop) {
  while (!stop.stop_requested()) {
    PruneOnce(stop);
    std::unique_lock lock(wait_mu_);
    // Returns at the interval or as soon as stop is requested.
    wake_.wait_for(lock, stop, options_.interval, [] { return false; });
  }
}

void Pruner::PruneOnce(const std::stop_token& stop) {
  const Seconds before =
      std::chrono::floor<std::chrono::seconds>(clock_.Now()) - options_.retention;
  Result<std::size_t> deleted = prune_(before, stop);
  if (!deleted.ok()) {
    spdlog::warn("pruner: pruning samples before {} in {} failed: {}", FormatRfc3339(before), what_,
                 deleted.error().ToString());
  } else {
    rows_deleted_.fetch_add(*deleted);
    if (*deleted > 0) {
      spdlog::info("pruner: deleted {} samples before {} from {}", *deleted, FormatRfc3339(before),
                   what_);
    }
  }
  // Counted last, so a reader that sees the pass also sees its rows.
  passes_.fetch_add(1);
}

}  // namespace headcount
