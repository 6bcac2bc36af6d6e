// TokenBucket: refill, book, check. Not synchronized (see the header).
#include "core/token_bucket.h"

#include <algorithm>
#include <chrono>

namespace headcount {

double RefilledTokens(double tokens, double rate, double capacity,
                      std::chrono::duration<double> elapsed) {
  return std::min(capacity, tokens + elapsed.count() * rate);
}

TokenBucket::TokenBucket(double rate, double capacity)
    : rate_(std::max(rate, 0.0)), capacity_(std::max(capacity, 1.0)), tokens_(capacity_) {}

void TokenBucket::Refill(WallTime now) {
  if (updated_ && now <= *updated_) return;
  if (updated_) {
    tokens_ = RefilledTokens(tokens_, rate_, capacity_, now - *updated_);
  }
  updated_ = now;
}

WallTime TokenBucket::NextFree(WallTime now) {
  if (rate_ == 0) return now;
  Refill(now);
  if (tokens_ >= 1.0 - kTokenEpsilon) return now;
  // Round up to the clock's tick so the slot is never early.
  const std::chrono::duration<double> wait((1.0 - tokens_) / rate_);
  return now + std::chrono::ceil<WallTime::duration>(wait);
}

void TokenBucket::Take(WallTime now) {
  if (rate_ == 0) return;
  Refill(now);
  tokens_ -= 1.0;
}

bool TokenBucket::TryTake(WallTime now) {
  if (!CanTake(now)) return false;
  Take(now);
  return true;
}

void TokenBucket::SetRate(WallTime now, double rate) {
  // At rate 0 nothing is taken or earned, so the bucket is still full.
  Refill(now);
  rate_ = std::max(rate, 0.0);
}

void TokenBucket::DropSaved(WallTime now) {
  Refill(now);
  tokens_ = std::min(tokens_, 0.0);
}

bool TokenBucket::Full(WallTime now) {
  if (rate_ == 0) return true;
  Refill(now);
  return tokens_ >= capacity_;
}

}  // namespace headcount
