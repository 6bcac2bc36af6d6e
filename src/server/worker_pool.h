// WorkerPool: a fixed set of threads for the requests whose handling blocks
// (store queries, ticks), so that the server's I/O threads never wait for
// them; each answer goes back through its request's HttpResponder. Bounded:
// past max_queued waiting requests, a request is answered 503 at once rather
// than queued. ConcurrencyLimit caps one kind of work in flight. Both are
// thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "server/http.h"

namespace headcount {

// Requests waiting for a worker at most; past it, 503.
inline constexpr std::size_t kDefaultMaxQueuedRequests = 64;
// What a 503 for being busy tells the client to wait before asking again.
inline constexpr std::chrono::seconds kBusyRetryAfter{5};

struct WorkerPoolOptions {
  std::size_t threads = 4;  // at least 1
  std::size_t max_queued = kDefaultMaxQueuedRequests;
  std::chrono::seconds retry_after = kBusyRetryAfter;  // in the 503s it sends
};

class WorkerPool {
 public:
  // The work of one request: called once, on a worker thread. Unlike
  // std::function it may own move-only state (a ConcurrencyLimit::Permit).
  class Work {
   public:
    Work() = default;
    template <typename F>
    requires(std::is_invocable_r_v<HttpResponse, F&> && !std::is_same_v<std::decay_t<F>, Work>)
        Work(F f)  // NOLINT(google-explicit-constructor): a lambda converts, as to std::function
        : impl_(std::make_unique<Model<F>>(std::move(f))) {}

    explicit operator bool() const { return impl_ != nullptr; }
    HttpResponse operator()() { return impl_->Call(); }

   private:
    struct Concept {
      virtual ~Concept() = default;
      virtual HttpResponse Call() = 0;
    };
    template <typename F>
    struct Model final : Concept {
      explicit Model(F f) : fn(std::move(f)) {}
      HttpResponse Call() override { return fn(); }
      F fn;
    };
    std::unique_ptr<Concept> impl_;
  };

  // Starts options.threads threads (at least one).
  explicit WorkerPool(WorkerPoolOptions options);
  ~WorkerPool();  // Stop()s.
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Runs `work` on a worker thread and answers with what it returns (500 if
  // it throws). `work` is destroyed before the answer is sent, so whatever it
  // refers to may go away once the client has its answer. When max_queued
  // requests already wait for a thread, or the pool is stopped, `work` is
  // dropped and `respond` answers 503 with Retry-After at once, on this
  // thread. Never blocks.
  void Submit(HttpResponder respond, Work work);

  // Stops taking requests, answers those still waiting 503, and waits for
  // the running ones to finish. Idempotent; not from a worker thread.
  void Stop();

 private:
  struct Job {
    HttpResponder respond;
    Work work;
  };
  void Run();

  const WorkerPoolOptions options_;

  // Guarded by mu_.
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;

  std::mutex stop_mu_;  // serializes Stop()
  std::vector<std::thread> threads_;
};

// Counts one kind of work in flight against a cap (e.g. history queries, so
// that a burst cannot take every worker or flood the store). Thread-safe.
class ConcurrencyLimit {
 public:
  // One unit of the limit, given back when destroyed. Move-only.
  class Permit {
   public:
    Permit() = default;  // holds nothing
    ~Permit() { Release(); }
    Permit(Permit&& other) noexcept : limit_(std::exchange(other.limit_, nullptr)) {}
    Permit& operator=(Permit&& other) noexcept {
      if (this != &other) {
        Release();
        limit_ = std::exchange(other.limit_, nullptr);
      }
      return *this;
    }
    Permit(const Permit&) = delete;
    Permit& operator=(const Permit&) = delete;

    explicit operator bool() const { return limit_ != nullptr; }

   private:
    friend class ConcurrencyLimit;
    explicit Permit(ConcurrencyLimit* limit) : limit_(limit) {}
    void Release() {
      if (limit_ != nullptr) limit_->in_use_.fetch_sub(1);
      limit_ = nullptr;
    }
    ConcurrencyLimit* limit_ = nullptr;
  };

  explicit ConcurrencyLimit(std::size_t max) : max_(max) {}
  ConcurrencyLimit(const ConcurrencyLimit&) = delete;
  ConcurrencyLimit& operator=(const ConcurrencyLimit&) = delete;

  // A permit while fewer than `max` are held, else an empty one. The limit
  // must outlive its permits.
  Permit TryAcquire() {
    std::size_t held = in_use_.load();
    do {
      if (held >= max_) return Permit();
    } while (!in_use_.compare_exchange_weak(held, held + 1));
    return Permit(this);
  }

  std::size_t in_use() const { return in_use_.load(); }

 private:
  const std::size_t max_;
  std::atomic<std::size_t> in_use_{0};
};

}  // namespace headcount
