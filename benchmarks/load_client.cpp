// Why coroutines on one io_context per client thread: each connection is a straight-line loop
// (wait for its slot, write, read, account) and all the connections of a thread share its
// state without locks; the threads' results are merged once at the end.
#include "load_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cmath>
#include <memory>
#include <optional>
#include <thread>

namespace hashguard::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using clock_type = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

double process_cpu_s() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

// One client thread: its io_context, its connections' sockets (so the hard deadline can cut
// them) and its share of the counters.
struct worker {
  const load_options* options{};
  const std::vector<std::string>* requests{};
  clock_type::time_point start;      // first scheduled request
  clock_type::time_point win_begin;  // counting starts
  clock_type::time_point win_end;    // nothing new is scheduled from here
  clock_type::time_point hard_end;   // in-flight requests are cut here
  asio::io_context io{1};
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  std::size_t active{0};                         // connection loops still running
  std::unique_ptr<asio::steady_timer> deadline;  // the watchdog's; cancelled when all are done
  bool cut{false};
  load_result result;
};

bool in_window(const worker& w, clock_type::time_point t) {
  return t >= w.win_begin && t < w.win_end;
}

asio::awaitable<void> connection(worker& w, tcp::endpoint endpoint, std::size_t slot,
                                 std::size_t index, std::size_t total) {
  const load_options& o = *w.options;
  const auto& requests = *w.requests;
  auto ex = co_await asio::this_coro::executor;
  tcp::socket& sock = *w.sockets[slot];
  asio::steady_timer timer(ex);
  beast::flat_buffer buffer;
  const bool open_loop = o.rate > 0;
  // Open loop: this connection's requests are `period` apart, offset so that the connections
  // together send one every 1/rate seconds.
  const auto period = open_loop
                          ? std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(static_cast<double>(total) / o.rate))
                          : clock_type::duration::zero();
  auto next =
      w.start + (open_loop ? std::chrono::duration_cast<clock_type::duration>(
                                 std::chrono::duration<double>(static_cast<double>(index) / o.rate))
                           : clock_type::duration::zero());
  std::size_t k = index;
  bool connected = false;
  while (!w.cut) {
    clock_type::time_point intended;
    if (open_loop) {
      intended = next;
      if (intended >= w.win_end) break;
      next += period;
      if (clock_type::now() < intended) {
        timer.expires_at(intended);
        co_await timer.async_wait(use_tuple);
        if (w.cut) break;
      }
    } else {
      if (clock_type::now() < w.start) {
        timer.expires_at(w.start);
        co_await timer.async_wait(use_tuple);
      }
      intended = clock_type::now();
      if (intended >= w.win_end) break;
    }
    auto fail = [&] {
      beast::error_code ignored;
      sock.close(ignored);  // NOLINT(bugprone-unused-return-value)
      connected = false;
      if (w.cut && in_window(w, intended)) {
        ++w.result.unfinished;
      } else {
        ++w.result.transport_errors;
      }
    };
    if (!connected) {
      auto [ec] = co_await sock.async_connect(endpoint, use_tuple);
      if (ec) {
        fail();
        timer.expires_after(std::chrono::milliseconds(10));
        co_await timer.async_wait(use_tuple);
        continue;
      }
      sock.set_option(tcp::no_delay(true));
      buffer.clear();
      connected = true;
    }
    const std::string& req = requests[k % requests.size()];
    k += total;
    {
      auto [ec, n] = co_await asio::async_write(sock, asio::buffer(req), use_tuple);
      if (ec) {
        fail();
        continue;
      }
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(std::uint64_t{64} << 20);
    {
      auto [ec, n] = co_await http::async_read(sock, buffer, parser, use_tuple);
      if (ec) {
        fail();
        continue;
      }
    }
    const auto done = clock_type::now();
    const auto& res = parser.get();
    if (in_window(w, intended)) {
      ++w.result.completed;
      const int status = static_cast<int>(res.result_int());
      ++w.result.statuses[status];
      if (status >= 200 && status < 300) ++w.result.ok;
      const bool marked = !o.marker.empty() && res.body().find(o.marker) != std::string::npos;
      if (marked) ++w.result.marked;
      w.result.latency.record(done - intended);
      (marked ? w.result.latency_marked : w.result.latency_unmarked).record(done - intended);
    }
    if (!res.keep_alive()) {
      beast::error_code ignored;
      sock.close(ignored);  // NOLINT(bugprone-unused-return-value)
      connected = false;
      ++w.result.reconnects;
    }
  }
  // Cut at the hard deadline: requests of the window that were never sent count as unfinished.
  if (open_loop && w.cut) {
    for (auto t = std::max(next, w.win_begin); t < w.win_end; t += period) ++w.result.unfinished;
  }
  beast::error_code ignored;
  sock.close(ignored);  // NOLINT(bugprone-unused-return-value)
  if (--w.active == 0) w.deadline->cancel();
}

// Cuts every connection at the hard deadline, unless they all finished first (then the timer
// is cancelled and io_context::run returns).
asio::awaitable<void> watchdog(worker& w) {
  auto [ec] = co_await w.deadline->async_wait(use_tuple);
  if (ec) co_return;
  w.cut = true;
  for (auto& s : w.sockets) {
    beast::error_code ignored;
    s->cancel(ignored);  // NOLINT(bugprone-unused-return-value)
  }
}

}  // namespace

// ---- latency_histogram ----------------------------------------------------------------------

std::size_t latency_histogram::bucket_of(std::uint64_t us) noexcept {
  constexpr std::uint64_t sub = std::uint64_t{1} << sub_bits;
  if (us < sub) return static_cast<std::size_t>(us);
  const auto magnitude = static_cast<unsigned>(std::bit_width(us)) - sub_bits;  // >= 1
  const auto index = (us >> (magnitude - 1)) - sub;  // 0 .. sub-1 within the magnitude
  const std::size_t b = (static_cast<std::size_t>(magnitude) << sub_bits) + index;
  return std::min(b, (std::size_t{magnitudes} << sub_bits) - 1);
}

std::uint64_t latency_histogram::upper_edge_us(std::size_t bucket) noexcept {
  constexpr std::uint64_t sub = std::uint64_t{1} << sub_bits;
  const std::size_t magnitude = bucket >> sub_bits;
  const std::uint64_t index = bucket & (sub - 1);
  if (magnitude == 0) return index + 1;
  return ((sub + index + 1) << (magnitude - 1));
}

void latency_histogram::record(std::chrono::nanoseconds d) noexcept {
  const auto us = static_cast<std::uint64_t>(
      std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::microseconds>(d).count()));
  ++buckets_[bucket_of(us)];
  ++count_;
  max_us_ = std::max(max_us_, us);
  sum_us_ += static_cast<double>(us);
}

void latency_histogram::merge(const latency_histogram& other) noexcept {
  for (std::size_t i = 0; i < buckets_.size(); ++i) buckets_[i] += other.buckets_[i];
  count_ += other.count_;
  max_us_ = std::max(max_us_, other.max_us_);
  sum_us_ += other.sum_us_;
}

double latency_histogram::percentile_ms(double p) const noexcept {
  if (count_ == 0) return 0;
  const auto rank = static_cast<std::uint64_t>(
      std::ceil(std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(count_)));
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= std::max<std::uint64_t>(rank, 1)) {
      return static_cast<double>(std::min(upper_edge_us(i), max_us_)) / 1e3;
    }
  }
  return max_ms();
}

double latency_histogram::mean_ms() const noexcept {
  return count_ == 0 ? 0 : sum_us_ / static_cast<double>(count_) / 1e3;
}

// ---- requests and runs ------------------------------------------------------------------------

std::string make_request(std::string_view method, std::string_view target,
                         std::string_view bearer_key, std::string_view content_type,
                         std::string_view body, std::string_view extra_headers) {
  std::string r;
  r.reserve(256 + body.size());
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: 127.0.0.1\r\n");
  if (!bearer_key.empty()) r.append("Authorization: Bearer ").append(bearer_key).append("\r\n");
  if (!content_type.empty()) r.append("Content-Type: ").append(content_type).append("\r\n");
  if (!body.empty() || method == "POST") {
    r.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  r.append(extra_headers).append("\r\n").append(body);
  return r;
}

load_result run_load(const load_options& options, const std::vector<std::string>& requests) {
  const unsigned threads = std::max(1U, std::min(options.threads, options.connections));
  const tcp::endpoint endpoint(asio::ip::make_address(options.host), options.port);
  const auto start = clock_type::now() + std::chrono::milliseconds(50);
  auto dur = [](double s) {
    return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
  };
  std::vector<std::unique_ptr<worker>> workers;
  for (unsigned t = 0; t < threads; ++t) {
    auto w = std::make_unique<worker>();
    w->options = &options;
    w->requests = &requests;
    w->start = start;
    w->win_begin = start + dur(options.warmup_s);
    w->win_end = w->win_begin + dur(options.seconds);
    w->hard_end = w->win_end + dur(options.grace_s);
    workers.push_back(std::move(w));
  }
  // Connection i goes to thread i % threads; each knows its global index for the schedule.
  for (std::size_t i = 0; i < options.connections; ++i) {
    worker& w = *workers[i % threads];
    w.sockets.push_back(std::make_unique<tcp::socket>(w.io));
    asio::co_spawn(w.io, connection(w, endpoint, w.sockets.size() - 1, i, options.connections),
                   asio::detached);
  }
  const double cpu0 = process_cpu_s();
  std::vector<std::thread> pool;
  std::atomic<unsigned> running{threads};
  for (auto& w : workers) {
    w->active = w->sockets.size();
    w->deadline = std::make_unique<asio::steady_timer>(w->io, w->hard_end);
    asio::co_spawn(w->io, watchdog(*w), asio::detached);
    pool.emplace_back([&w, &running] {
      w->io.run();
      --running;
    });
  }
  auto last_progress = clock_type::now();
  while (running.load() > 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const auto now = clock_type::now();
    if (options.progress && now - last_progress >= std::chrono::seconds(1) &&
        now >= workers[0]->win_begin && now < workers[0]->win_end) {
      last_progress = now;
      options.progress(std::chrono::duration<double>(now - workers[0]->win_begin).count());
    }
  }
  for (auto& t : pool) t.join();
  load_result total;
  total.client_cpu_s = process_cpu_s() - cpu0;
  total.window_s = options.seconds;
  for (auto& w : workers) {
    const load_result& r = w->result;
    total.completed += r.completed;
    total.ok += r.ok;
    total.marked += r.marked;
    total.transport_errors += r.transport_errors;
    total.unfinished += r.unfinished;
    total.reconnects += r.reconnects;
    for (const auto& [status, n] : r.statuses) total.statuses[status] += n;
    total.latency.merge(r.latency);
    total.latency_marked.merge(r.latency_marked);
    total.latency_unmarked.merge(r.latency_unmarked);
  }
  return total;
}

}  // namespace hashguard::bench
