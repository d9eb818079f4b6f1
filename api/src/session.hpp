// One connection's session: a coroutine on the connection's strand that serves its requests
// one at a time, in order, until the connection closes. Each request goes through the same
// steps (session.cpp): read the header (idle wait, then per-read timeouts within the
// whole-request deadline), admit it (admission.hpp: route, key, role, rate, size), read the
// body, invoke the handler where its route says (invoke.hpp), write the answer and its log line.
// When the session ends it closes the connection, lingering first when the client may still be
// sending (so it reads the answer instead of a reset). server.hpp states the behaviour; this is
// how. Private to the transport.
#pragma once

#include "body_budget.hpp"
#include "connection.hpp"
#include "hashguard/api/admission.hpp"
#include "hashguard/api/server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>

namespace hashguard::api::detail {

/// What every session of a server shares. Owned by the server, which outlives its sessions.
struct session_env {
  const server_options* opt{nullptr};
  const services* svc{nullptr};
  admission_rules rules;
  /// Request bodies in memory across all connections (body_budget.hpp).
  body_budget* bodies{nullptr};
  /// An answer still travelling from a handler's thread holds this (the executor it goes to
  /// needs its io_context), so the context outlives the server if it must.
  std::shared_ptr<boost::asio::io_context> io;
  /// Called once, last, by every session: the connection is closed.
  std::function<void(connection&)> ended;
};

/// Serves the connection until it closes; calls env.ended at the end. Spawn on c->ex.
boost::asio::awaitable<void> run_session(const session_env& env,
                                         std::shared_ptr<connection_of<plain_stream>> c);
boost::asio::awaitable<void> run_session(const session_env& env,
                                         std::shared_ptr<connection_of<tls_stream>> c);

}  // namespace hashguard::api::detail
