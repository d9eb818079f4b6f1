// One connection's state, shared by its session (session.cpp) and the server code that reaches
// into it from outside: shutdown and eviction at the connection cap (server.cpp). Private to
// the transport.
#pragma once

#include "watchdog.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/stream_traits.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

namespace hashguard::api::detail {

using plain_stream = boost::asio::ip::tcp::socket;
using tls_stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
template <class S>
inline constexpr bool is_tls = std::is_same_v<S, tls_stream>;

// What a connection is doing, as the accept loop sees it when it must choose one to evict
// (server.cpp, choose_victim). A client without a valid key can only ever hold an evictable
// connection: the key is checked before any body byte is read.
enum class phase : int {
  closing,  // answered and lingering before the close (a 431, a 408...): evicted first
  idle,     // waiting for the first byte of a request   } then these two, the one that
  header,   // reading a header, or an anonymous body    } entered its phase first
  busy,     // an authenticated request's body, any handler, its answer: never evicted
};

// Touched only on the connection's strand, except `stage`, `stage_since` and `evicted`, which
// the accept loop reads (under the server's mutex for `evicted`).
struct connection {
  explicit connection(const boost::asio::any_io_executor& executor) : ex(executor), dog(executor) {
    enter(phase::idle);
  }
  virtual ~connection() = default;
  connection(const connection&) = delete;
  connection& operator=(const connection&) = delete;
  virtual boost::asio::ip::tcp::socket& lowest() = 0;

  boost::asio::any_io_executor ex;
  watchdog dog;
  bool idle{false};       // waiting for the first byte of the next request
  bool draining{false};   // the server is shutting down: finish this request, then close
  bool evict_now{false};  // chosen for eviction: stop reading and close
  std::string remote;     // "address:port" of the peer, for the request log

  std::atomic<phase> stage{phase::idle};
  std::atomic<std::int64_t> stage_since{0};  // steady clock, nanoseconds
  bool evicted{false};                       // guarded by the server's mutex

  void enter(phase p) {
    stage.store(p, std::memory_order_relaxed);
    stage_since.store(std::chrono::duration_cast<std::chrono::nanoseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count(),
                      std::memory_order_relaxed);
  }
};

template <class Stream>
struct connection_of final : connection {
  template <class... Args>
  explicit connection_of(const boost::asio::any_io_executor& executor, Args&&... args)
      : connection(executor), stream(std::forward<Args>(args)...) {
    dog.watch(boost::beast::get_lowest_layer(stream));
  }
  boost::asio::ip::tcp::socket& lowest() override { return boost::beast::get_lowest_layer(stream); }
  Stream stream;
};

}  // namespace hashguard::api::detail
