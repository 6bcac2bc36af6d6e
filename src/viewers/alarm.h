// Time for the viewer simulator's asynchronous code, as a seam: an Alarm calls
// a function on an executor once a Clock reads a given instant, so the players
// wait on the project's Clock instead of asio's steady clock, and tests run
// them on a FakeClock (viewers/testing/fake_alarms.h). Alarms implementations
// are thread-safe; one Alarm is used from one strand at a time.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>

#include "core/clock.h"

namespace headcount {

class Alarm {
 public:
  virtual ~Alarm() = default;
  Alarm() = default;
  Alarm(const Alarm&) = delete;
  Alarm& operator=(const Alarm&) = delete;

  // Calls `wake` on the alarm's executor once the clock reads `at` or later
  // (soon, if it already does). At most one call is pending: call WakeAt
  // again only from `wake` or after Cancel(). The pending `wake` is owned by
  // the executor's io_context, like an asio handler: it is destroyed uncalled
  // if the io_context stops and is destroyed first.
  virtual void WakeAt(WallTime at, std::function<void()> wake) = 0;

  // The pending `wake`, if any, will not be called.
  virtual void Cancel() = 0;
};

class Alarms {
 public:
  virtual ~Alarms() = default;
  Alarms() = default;
  Alarms(const Alarms&) = delete;
  Alarms& operator=(const Alarms&) = delete;

  // The clock the alarms read.
  virtual const Clock& clock() const = 0;

  // A new alarm that calls its functions on `executor`. The alarm must be
  // destroyed before the executor's io_context.
  virtual std::unique_ptr<Alarm> NewAlarm(const boost::asio::any_io_executor& executor) = 0;
};

// Alarms on asio's steady timers, for a clock that runs in real time: an
// alarm waits `at - clock.Now()` as measured when WakeAt is called.
class AsioAlarms final : public Alarms {
 public:
  explicit AsioAlarms(const Clock& clock) : clock_(clock) {}
  const Clock& clock() const override { return clock_; }
  std::unique_ptr<Alarm> NewAlarm(const boost::asio::any_io_executor& executor) override;

 private:
  const Clock& clock_;
};

// AsioAlarms on the system clock, made once: what `headcount viewers` uses.
Alarms& SystemAlarms();

}  // namespace headcount
