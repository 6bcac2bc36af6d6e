#include "cli/signals.h"

#include <pthread.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

namespace headcount {
namespace {
// How often the watcher thread checks whether it should end.
constexpr std::chrono::milliseconds kPollInterval{200};
}  // namespace

SignalWatcher::SignalWatcher(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  sigemptyset(&set_);
  sigaddset(&set_, SIGINT);
  sigaddset(&set_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set_, nullptr);
  thread_ = std::thread([this] {
    bool signalled = false;
    timespec slice{0, std::chrono::nanoseconds(kPollInterval).count()};
    while (!done_) {
      const int signo = sigtimedwait(&set_, nullptr, &slice);
      if (signo <= 0) continue;
      if (signalled) std::_Exit(130);  // second Ctrl-C: the user means it
      signalled = true;
      on_signal_(signo);
    }
  });
}

SignalWatcher::~SignalWatcher() {
  done_ = true;
  thread_.join();
}

}  // namespace headcount
