// A token bucket, for pacing requests under a rate quota (NextFree/Take: the
// IVS publisher books future send times) and for enforcing one (TryTake: the
// IVS emulator). Not synchronized: the owner guards it.
#pragma once

#include <chrono>
#include <optional>

#include "core/clock.h"

namespace headcount {

// Tokens earned in floating point may fall a hair short of a whole one
// (0.2 s * 5/s); this much short still counts as whole.
inline constexpr double kTokenEpsilon = 1e-9;

// Refills at `rate` tokens per second up to `capacity`; starts full, so up
// to `capacity` takes go at once (the burst), then one every 1/rate. A rate
// of 0 means unlimited (every reservation is "now"). Reservations may drive
// the level below zero: each one books the next free slot, so callers that
// reserve in turn are spaced 1/rate apart however late they actually send.
// Over any interval of length T the takes are at most capacity + rate * T.
// The level of a bucket refilled at `rate` up to `capacity` from `tokens`
// over `elapsed`: the one refill rule, for TokenBucket and for the buckets
// of ClientRateLimiter (which keep only their level and time).
double RefilledTokens(double tokens, double rate, double capacity,
                      std::chrono::duration<double> elapsed);

class TokenBucket {
 public:
  // `rate` >= 0; `capacity` >= 1 (a capacity of 1 spaces requests evenly,
  // with no burst).
  TokenBucket(double rate, double capacity);

  // The earliest instant at or after `now` at which one more token is free.
  // Does not take it.
  WallTime NextFree(WallTime now);
  // Takes one token at `now` (booking the slot NextFree(now) returned).
  void Take(WallTime now);
  // Whether a token is free at `now`; takes nothing.
  bool CanTake(WallTime now) { return NextFree(now) <= now; }
  // Takes one token if one is free at `now`: true on success, false (nothing
  // taken) otherwise.
  bool TryTake(WallTime now);
  // Whether the bucket is full at `now` (nothing booked, nothing owed):
  // forgetting it then loses nothing.
  bool Full(WallTime now);

  // From `now` on, refills at `rate` (>= 0; 0 = unlimited) instead: what
  // was earned up to `now` is kept at the old rate, and slots already
  // booked stay booked (the debt is repaid at the new rate). The adaptive
  // backoff of the IVS publisher halves and restores its rate with it.
  void SetRate(WallTime now, double rate);

  // Drops the tokens saved up at `now` (no burst until it refills); slots
  // already booked stay booked.
  void DropSaved(WallTime now);

  double rate() const { return rate_; }
  double capacity() const { return capacity_; }

 private:
  void Refill(WallTime now);

  double rate_;
  double capacity_;
  double tokens_;
  std::optional<WallTime> updated_;
};

}  // namespace headcount
