// A ViewerSink that writes down what it is told, for tests of the tables
// that feed a cluster's shared count. Thread-safe.
#pragma once

#include <mutex>
#include <string>
#include <vector>

#include "origin/viewer_sink.h"

namespace headcount::testing {

class RecordingSink final : public ViewerSink {
 public:
  struct Call {
    bool seen = false;  // Seen, else Gone
    Kind kind = Kind::kSession;
    std::string channel;
    SessionTable::Key key{};
    WallTime at{};
  };

  void Seen(Kind kind, std::string_view channel, const SessionTable::Key& key,
            WallTime now) override {
    std::lock_guard lock(mu_);
    calls_.push_back({true, kind, std::string(channel), key, now});
  }
  void Gone(Kind kind, std::string_view channel, const SessionTable::Key& key) override {
    std::lock_guard lock(mu_);
    calls_.push_back({false, kind, std::string(channel), key, {}});
  }

  std::vector<Call> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  void clear() {
    std::lock_guard lock(mu_);
    calls_.clear();
  }

 private:
  mutable std::mutex mu_;
  std::vector<Call> calls_;
};

}  // namespace headcount::testing
