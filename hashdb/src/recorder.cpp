#include "hashguard/hashdb/recorder.hpp"

#include "hashguard/hashdb/spool.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <thread>
#include <unordered_map>

namespace hashguard::hashdb {

namespace {

struct pending {
  match_event event;
  std::promise<core::result<record_result>> done;
};

bool transient(const core::error_code& ec) {
  return ec == errc::unavailable || ec == errc::in_doubt || ec == errc::deadline;
}

}  // namespace

struct event_recorder::impl {
  recorder_options options;
  std::shared_ptr<spool> spool_file;  // set at start, never replaced

  mutable std::mutex mutex;
  // One per lane: a record wakes its own lane's worker only (waking all of them for every event
  // costs CPU that the database needs on a loaded machine); wake_all() for stop.
  std::vector<std::unique_ptr<std::condition_variable>> wake;
  mutable std::condition_variable drained;  // waiters of wait_drained
  // One queue and one worker (with its own connection) per lane; a zone always maps to the
  // same lane, so lanes never wait on each other's per-zone locks and a zone's events keep
  // their order, while the lanes' commits (and fsyncs) overlap.
  std::vector<std::deque<std::shared_ptr<pending>>> queues;
  bool stopping{false};
  std::atomic<bool> db_up{true};  // assumed until a connection attempt fails

  // The first record() of a request key (zone, request id, SHA-256) within the window. A repeat
  // that arrives while the first is still being recorded waits for its outcome: it is answered
  // with the id the first was answered with (which may be an earlier event the database found),
  // or, when the first could not be recorded, it records itself. It never answers an id that
  // may end up stored nowhere.
  struct first_request {
    std::string event_id;  // this caller's event id until settled, then the id answered
    std::int64_t seen_us{};
    bool settled{false};
    std::optional<std::int64_t> case_id;
    durability where{durability::committed};
  };
  // request key -> its first; pruned in time order.
  std::mutex dedupe_mutex;
  std::condition_variable dedupe_settled;
  std::unordered_map<std::string, std::shared_ptr<first_request>> recent;
  std::deque<std::pair<std::int64_t, std::string>> recent_order;

  std::atomic<std::uint64_t> committed{0}, batches{0}, spooled{0}, replayed{0}, dead_letter{0};
  std::uint64_t replay_offset{spool::header_size};  // worker only
  // When the spool's disk failed the replay (a read, or the .rejected file): not before this
  // does the worker try again, so a failing disk is not retried in a busy loop. Worker only.
  std::chrono::steady_clock::time_point replay_after{};

  std::vector<std::thread> workers;

  void wake_all() {
    for (auto& w : wake) w->notify_all();
  }

  std::size_t lane_of(const std::string& zone) const {
    return std::hash<std::string>{}(zone) % queues.size();
  }

  static std::string request_key(const match_event& e) {
    return e.zone + '\x01' + e.request_id + '\x01' + e.sha256;
  }

  // What record() answers for a repeat of a request key seen within the window (waiting for
  // the first's outcome when it is still being recorded); otherwise nullopt, and this event is
  // now the key's first (settle() must follow).
  std::optional<recorded> remember(const match_event& e) {
    if (e.request_id.empty()) return std::nullopt;
    const std::int64_t window_us =
        static_cast<std::int64_t>(options.cases.dedupe_window_s) * 1'000'000;
    std::string key = request_key(e);
    std::unique_lock lock(dedupe_mutex);
    while (!recent_order.empty() && (recent_order.front().first < e.occurred_us - window_us ||
                                     recent_order.size() > 1'000'000)) {
      // A first still being recorded this long is past the window too: its repeats (waiting
      // on it) then record themselves.
      auto it = recent.find(recent_order.front().second);
      if (it != recent.end() && it->second->seen_us == recent_order.front().first) {
        recent.erase(it);
      }
      recent_order.pop_front();
    }
    while (true) {
      auto it = recent.find(key);
      if (it == recent.end() || e.occurred_us - it->second->seen_us >= window_us) break;
      const std::shared_ptr<first_request> first = it->second;
      if (first->settled) {
        return recorded{first->event_id, first->case_id, record_outcome::duplicate_request,
                        first->where};
      }
      // Bounded: the first's record() returns within the commit deadline plus one spool append.
      dedupe_settled.wait(lock, [&] {
        auto now = recent.find(key);
        return first->settled || now == recent.end() || now->second != first;
      });
    }
    auto first = std::make_shared<first_request>();
    first->event_id = e.id;
    first->seen_us = e.occurred_us;
    recent[key] = first;
    recent_order.emplace_back(e.occurred_us, std::move(key));
    return std::nullopt;
  }

  // The outcome of a key's first record(): what its repeats are answered, or, when it was not
  // recorded after all, no first at all (a repeat records itself rather than answer an id that
  // exists nowhere).
  void settle(const match_event& e, const core::result<recorded>& r) {
    if (e.request_id.empty()) return;
    {
      std::lock_guard lock(dedupe_mutex);
      auto it = recent.find(request_key(e));
      if (it == recent.end() || it->second->event_id != e.id || it->second->settled) {
        // Pruned meanwhile: nothing to settle (its waiters were woken and look again).
      } else if (r) {
        it->second->event_id = r->event_id;
        it->second->case_id = r->case_id;
        it->second->where = r->where;
        it->second->settled = true;
      } else {
        recent.erase(it);
      }
    }
    dedupe_settled.notify_all();
  }

  std::shared_ptr<spool> current_spool() const {
    std::lock_guard lock(mutex);
    return spool_file;
  }

  // The caller is answered with e's own id once this returns: the database must then store it
  // under that id whatever it finds (match_event::answered).
  core::result<recorded> to_spool(const match_event& e) {
    match_event answered = e;
    answered.answered = true;
    if (auto r = current_spool()->append(to_json(answered)); !r) return r.error();
    ++spooled;
    wake[0]->notify_one();  // lane 0 replays the spool
    return recorded{e.id, std::nullopt, record_outcome::recorded, durability::spooled};
  }

  void fail_queue(std::size_t lane, const core::error_code& ec) {
    std::deque<std::shared_ptr<pending>> failed;
    {
      std::lock_guard lock(mutex);
      failed.swap(queues[lane]);
    }
    for (auto& p : failed) p->done.set_value(core::result<record_result>(ec));
  }

  // Replays spool records in order while the database takes them. Returns false when the
  // database failed (the worker then reconnects).
  bool replay(connection& conn, case_store& cases) {
    while (true) {
      // Bad records are set aside by the spool itself (spool.hpp); an error here is a read
      // that failed: try again from the same offset after retry_interval.
      auto chunk = spool_file->read(replay_offset, options.max_batch);
      if (!chunk) return disk_failed();
      if (chunk->records.empty()) {
        auto emptied = spool_file->truncate_if_end(replay_offset);
        if (emptied && *emptied) replay_offset = spool::header_size;
        return true;
      }
      // A record set aside in a file that cannot take it is not dropped: the chunk is
      // replayed again on the next pass (events are idempotent by UUID).
      std::vector<match_event> events;
      for (const std::string& rec : chunk->records) {
        auto e = event_from_json(rec);
        if (e && validate(*e)) {
          e->answered = true;  // every spooled event was answered with its id (to_spool)
          events.push_back(std::move(*e));
        } else if (!reject(rec)) {
          return disk_failed();
        }
      }
      auto r = cases.record_batch(events);
      if (!r) {
        if (transient(r.error())) return false;
        // One of them is refused for good: replay one by one, set the refused aside.
        for (const match_event& e : events) {
          auto one = cases.record(e);
          if (!one) {
            if (transient(one.error())) return false;
            if (!reject(to_json(e))) return disk_failed();
          }
        }
      }
      (void)conn;
      replayed += events.size();
      replay_offset = chunk->end;
    }
  }

  bool disk_failed() {
    replay_after = std::chrono::steady_clock::now() + options.retry_interval;
    return true;  // the database is not at fault
  }

  bool replay_due() const { return std::chrono::steady_clock::now() >= replay_after; }

  // Keeps a record the database refuses for good in <spool>.rejected; false when it could not.
  bool reject(const std::string& record) {
    if (!spool_file->reject(record)) return false;
    ++dead_letter;
    return true;
  }

  void run(std::size_t lane) {
    const bool replayer = lane == 0;  // one lane replays the spool
    std::optional<connection> conn;
    while (true) {
      {
        std::unique_lock lock(mutex);
        if (stopping) break;
      }
      if (!conn) {
        auto c = connection::open(options.database_url);
        if (c) {
          conn.emplace(std::move(*c));
          db_up = true;
        } else {
          db_up = false;
          fail_queue(lane, c.error());
          std::unique_lock lock(mutex);
          wake[lane]->wait_for(lock, options.retry_interval, [this] { return stopping; });
          continue;
        }
      }
      // db_up changes only on evidence: a connection opened, a commit or a replay that
      // succeeded (up), or one that failed (down). A lane holding a connection it has not used
      // since the database went away knows nothing: were it to claim "up" on every pass, the
      // flag (and /metrics' hg_database_up) would flap while the database is down.
      case_store cases(*conn, options.cases);
      if (replayer && replay_due() &&
          (spool_file->size() > replay_offset || replay_offset > spool::header_size)) {
        if (!replay(*conn, cases)) {
          conn.reset();
          db_up = false;
          continue;
        }
        db_up = true;
      }
      drained.notify_all();

      std::vector<std::shared_ptr<pending>> batch;
      {
        std::unique_lock lock(mutex);
        auto& queue = queues[lane];
        wake[lane]->wait_for(lock, std::chrono::milliseconds(100), [&] {
          return stopping || !queue.empty() ||
                 (replayer && replay_due() && spool_file->size() > spool::header_size);
        });
        while (!queue.empty() && batch.size() < options.max_batch) {
          batch.push_back(std::move(queue.front()));
          queue.pop_front();
        }
      }
      if (batch.empty()) continue;
      std::vector<match_event> events;
      events.reserve(batch.size());
      for (const auto& p : batch) events.push_back(p->event);
      auto r = cases.record_batch(events);
      if (r) {
        db_up = true;
        committed += batch.size();
        ++batches;
        for (std::size_t i = 0; i < batch.size(); ++i) batch[i]->done.set_value((*r)[i]);
        continue;
      }
      if (transient(r.error())) {
        for (auto& p : batch) p->done.set_value(core::result<record_result>(r.error()));
        conn.reset();
        db_up = false;
        continue;
      }
      // Isolate the event the database refuses; commit the others.
      for (auto& p : batch) {
        auto one = cases.record(p->event);
        if (one) ++committed;
        p->done.set_value(std::move(one));
      }
    }
    fail_queue(lane, errc::unavailable);
  }
};

event_recorder::event_recorder(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

core::result<std::unique_ptr<event_recorder>> event_recorder::start(recorder_options options) {
  auto s = spool::open(options.spool_path, options.spool);
  if (!s) return s.error();
  auto p = std::make_unique<impl>();
  p->options = std::move(options);
  p->spool_file = std::shared_ptr<spool>(std::move(*s));
  impl* raw = p.get();
  std::unique_ptr<event_recorder> rec(new event_recorder(std::move(p)));
  raw->queues.resize(std::max<std::size_t>(1, raw->options.lanes));
  for (std::size_t lane = 0; lane < raw->queues.size(); ++lane) {
    raw->wake.push_back(std::make_unique<std::condition_variable>());
  }
  for (std::size_t lane = 0; lane < raw->queues.size(); ++lane) {
    raw->workers.emplace_back([raw, lane] { raw->run(lane); });
  }
  return rec;
}

event_recorder::~event_recorder() {
  {
    std::lock_guard lock(impl_->mutex);
    impl_->stopping = true;
  }
  impl_->wake_all();
  for (auto& w : impl_->workers) w.join();
}

core::result<recorded> event_recorder::record(match_event e) {
  if (e.id.empty()) e.id = new_uuid();
  if (e.occurred_us == 0) e.occurred_us = now_us();
  if (auto v = validate(e); !v) return v.error();
  if (auto repeat = impl_->remember(e)) return *repeat;
  auto r = record_new(e);
  impl_->settle(e, r);
  return r;
}

core::result<recorded> event_recorder::record_new(const match_event& e) {
  if (!impl_->db_up) return impl_->to_spool(e);

  auto job = std::make_shared<pending>();
  job->event = e;
  auto done = job->done.get_future();
  const std::size_t lane = impl_->lane_of(e.zone);
  bool stopping = false;
  {
    std::lock_guard lock(impl_->mutex);
    stopping = impl_->stopping;
    if (!stopping) impl_->queues[lane].push_back(job);
  }
  // (to_spool takes the mutex itself: never call it with the mutex held.)
  if (stopping) return impl_->to_spool(e);
  impl_->wake[lane]->notify_one();
  // The calling thread (a scan-pool thread in `serve`) holds no lock while it waits here, and
  // waits only for its own lane's group commit: at most the batch in flight plus the one its
  // event joins, never past the commit deadline.
  if (done.wait_for(impl_->options.commit_deadline) == std::future_status::ready) {
    auto r = done.get();
    if (r) {
      return recorded{r->event_id, r->case_id, r->outcome, durability::committed};
    }
    if (r.error() == errc::invalid_argument) return r.error();
  }
  // Past the deadline, or the database failed: the spool makes it durable.
  return impl_->to_spool(e);
}

recorder_stats event_recorder::stats() const {
  recorder_stats s;
  s.committed = impl_->committed;
  s.batches = impl_->batches;
  s.spooled = impl_->spooled;
  s.replayed = impl_->replayed;
  s.dead_letter = impl_->dead_letter;
  std::lock_guard lock(impl_->mutex);
  s.spool_bytes = impl_->spool_file->size() - spool::header_size;
  s.spool_writable = impl_->spool_file->writable();
  s.spool_quarantined_bytes = impl_->spool_file->quarantined_bytes();
  s.database_up = impl_->db_up;
  return s;
}

bool event_recorder::wait_drained(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->mutex);
  return impl_->drained.wait_for(lock, timeout, [this] {
    return impl_->db_up && impl_->spool_file->size() == spool::header_size;
  });
}

}  // namespace hashguard::hashdb
