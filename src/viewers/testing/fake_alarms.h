// Alarms on a FakeClock that moves by itself, like a discrete-event
// simulation: what happens between two waits (network I/O included) takes no
// fake time, so every instant a test observes is exact. For tests;
// thread-safe.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <utility>

#include "core/clock.h"
#include "viewers/alarm.h"

namespace headcount::testing {

// An alarm due at the clock's time fires at once. An alarm that fired is
// busy until its owner sets it again or cancels it (its owner is at work).
// When the last busy alarm is set again or cancelled, the clock jumps to the
// earliest alarm set and fires it, with every other due then, in the order
// they were set. So the clock never moves while anyone is at work, nor by
// itself: a run starts with an alarm due at once (ViewerSimulator's first
// player starts at once), and an alarm that fired and is never set again or
// cancelled (the end of a run) stops the clock for good. Destroying an alarm
// never moves the clock.
class FakeAlarms final : public Alarms {
 public:
  explicit FakeAlarms(FakeClock& clock) : clock_(clock) {}
  const Clock& clock() const override { return clock_; }
  std::unique_ptr<Alarm> NewAlarm(const boost::asio::any_io_executor& executor) override {
    return std::make_unique<FakeAlarm>(*this, executor);
  }

 private:
  enum class State { kIdle, kSet, kBusy };
  struct Entry {
    boost::asio::any_io_executor executor;
    State state = State::kIdle;
    WallTime at;
    std::uint64_t order = 0;                    // when it was set, for ties
    std::weak_ptr<std::function<void()>> wake;  // owned by the io_context
  };

  class FakeAlarm final : public Alarm {
   public:
    FakeAlarm(FakeAlarms& alarms, const boost::asio::any_io_executor& executor)
        : alarms_(alarms), entry_(alarms.Add(executor)), parking_(executor) {}
    ~FakeAlarm() override { alarms_.Remove(entry_); }
    FakeAlarm(const FakeAlarm&) = delete;
    FakeAlarm& operator=(const FakeAlarm&) = delete;

    void WakeAt(WallTime at, std::function<void()> wake) override {
      auto fn = std::make_shared<std::function<void()>>(std::move(wake));
      // The io_context owns `fn` as it owns a real alarm's handler: parked in
      // a wait that only the next WakeAt, Cancel or the io_context's end ends.
      parking_.expires_at(std::chrono::steady_clock::time_point::max());
      parking_.async_wait([fn](const boost::system::error_code&) {});
      alarms_.Set(entry_, at, fn);
    }
    void Cancel() override {
      parking_.cancel();
      alarms_.Unset(entry_);
    }

   private:
    FakeAlarms& alarms_;
    const std::list<Entry>::iterator entry_;
    boost::asio::steady_timer parking_;
  };

  std::list<Entry>::iterator Add(const boost::asio::any_io_executor& executor) {
    const std::lock_guard<std::mutex> lock(mu_);
    entries_.emplace_back();
    entries_.back().executor = executor;
    return std::prev(entries_.end());
  }
  void Remove(std::list<Entry>::iterator entry) {
    const std::lock_guard<std::mutex> lock(mu_);
    entries_.erase(entry);
  }
  void Set(std::list<Entry>::iterator entry, WallTime at,
           const std::shared_ptr<std::function<void()>>& wake) {
    const std::lock_guard<std::mutex> lock(mu_);
    const bool was_busy = entry->state == State::kBusy;
    entry->state = State::kSet;
    entry->at = at;
    entry->order = next_order_++;
    entry->wake = wake;
    FireDue();
    if (was_busy) Advance();
  }
  void Unset(std::list<Entry>::iterator entry) {
    const std::lock_guard<std::mutex> lock(mu_);
    const bool was_busy = entry->state == State::kBusy;
    entry->state = State::kIdle;
    entry->wake.reset();
    if (was_busy) Advance();
  }

  // Fires every alarm set for the clock's time or earlier. Holds mu_.
  void FireDue() {
    for (;;) {
      Entry* next = Earliest();
      if (next == nullptr || next->at > clock_.Now()) return;
      next->state = State::kBusy;
      if (auto wake = next->wake.lock()) {
        boost::asio::post(next->executor, [wake] { (*wake)(); });
      }
    }
  }
  // When no alarm is busy, moves the clock to the earliest one set and fires
  // it. Holds mu_.
  void Advance() {
    for (const Entry& e : entries_) {
      if (e.state == State::kBusy) return;
    }
    if (Entry* next = Earliest()) {
      clock_.Set(next->at);
      FireDue();
    }
  }
  // The alarm set for the earliest instant (the first set, of a tie). Holds mu_.
  Entry* Earliest() {
    Entry* out = nullptr;
    for (Entry& e : entries_) {
      if (e.state != State::kSet) continue;
      if (out == nullptr || e.at < out->at || (e.at == out->at && e.order < out->order)) out = &e;
    }
    return out;
  }

  FakeClock& clock_;
  std::mutex mu_;
  std::list<Entry> entries_;  // guarded by mu_, with next_order_
  std::uint64_t next_order_ = 0;
};

}  // namespace headcount::testing
