// Turns SIGINT/SIGTERM into a callback on a thread of its own, so shutdown
// code runs outside signal context. Construct it before starting any other
// thread (it blocks the signals for every thread created afterwards).
#pragma once

#include <atomic>
#include <csignal>
#include <functional>
#include <thread>

namespace headcount {

class SignalWatcher {
 public:
  // Calls `on_signal(signo)` once for the first SIGINT or SIGTERM; a second
  // one ends the process at once (exit code 130), for a user who insists.
  explicit SignalWatcher(std::function<void(int)> on_signal);
  ~SignalWatcher();
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

 private:
  std::function<void(int)> on_signal_;
  std::atomic<bool> done_{false};
  sigset_t set_{};
  std::thread thread_;
};

}  // namespace headcount
