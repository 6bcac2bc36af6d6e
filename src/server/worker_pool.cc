// WorkerPool (see worker_pool.h): a queue under one mutex, drained by the
// pool's threads.
#include "server/worker_pool.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <exception>

namespace headcount {

WorkerPool::WorkerPool(WorkerPoolOptions options) : options_(options) {
  const std::size_t threads = std::max<std::size_t>(options_.threads, 1);
  threads_.reserve(threads);
  for (std::size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() { Stop(); }

void WorkerPool::Submit(HttpResponder respond, Work work) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_ && queue_.size() < options_.max_queued) {
      queue_.push_back(Job{std::move(respond), std::move(work)});
      wake_.notify_one();
      return;
    }
  }
  spdlog::debug("workers: busy ({} requests waiting), answering 503", options_.max_queued);
  respond.Respond(HttpResponse::Unavailable("server busy, try again later", options_.retry_after));
}

void WorkerPool::Stop() {
  std::lock_guard stop_lock(stop_mu_);
  std::deque<Job> waiting;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    waiting.swap(queue_);
  }
  wake_.notify_all();
  for (Job& job : waiting) {
    job.work = {};
    job.respond.Respond(HttpResponse::Unavailable("shutting down", options_.retry_after));
  }
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

void WorkerPool::Run() {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    HttpResponse response;
    try {
      response = job.work();
    } catch (const std::exception& e) {
      spdlog::error("workers: a request failed: {}", e.what());
      response = HttpResponse::Error(500, "internal error");
    } catch (...) {
      spdlog::error("workers: a request failed: unknown exception");
      response = HttpResponse::Error(500, "internal error");
    }
    job.work = {};  // before answering: see Submit
    job.respond.Respond(std::move(response));
  }
}

}  // namespace headcount
