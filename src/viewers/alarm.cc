#include "viewers/alarm.h"

#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <utility>

namespace headcount {
namespace {

class AsioAlarm final : public Alarm {
 public:
  AsioAlarm(const Clock& clock, const boost::asio::any_io_executor& executor)
      : clock_(clock), timer_(executor) {}

  void WakeAt(WallTime at, std::function<void()> wake) override {
    // A negative wait (an instant already past) expires at once.
    timer_.expires_after(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(at - clock_.Now()));
    timer_.async_wait([wake = std::move(wake)](const boost::system::error_code& ec) {
      if (!ec) wake();
    });
  }

  void Cancel() override { timer_.cancel(); }

 private:
  const Clock& clock_;
  boost::asio::steady_timer timer_;
};

}  // namespace

std::unique_ptr<Alarm> AsioAlarms::NewAlarm(const boost::asio::any_io_executor& executor) {
  return std::make_unique<AsioAlarm>(clock_, executor);
}

Alarms& SystemAlarms() {
  static const SystemClock kClock;  // made once, thread-safely
  static AsioAlarms alarms(kClock);
  return alarms;
}

}  // namespace headcount
