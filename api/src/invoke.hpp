// Calling a route's handler where its route says (router.hpp, run_on) and getting its answer
// back to the connection's strand. Private to the transport (session.cpp).
#pragma once

#include "hashguard/api/http.hpp"
#include "hashguard/api/router.hpp"
#include "hashguard/api/work_pool.hpp"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <exception>
#include <memory>
#include <string>
#include <utility>

namespace hashguard::api::detail {

// Where an answer goes: the session's executor, plus a reference that keeps the io_context
// alive. A handler's thread may still hold (and then destroy) this after the server answered
// and was torn down; destroying an executor needs its io_context, so the context is declared
// first and goes last.
struct answer_target {
  std::shared_ptr<boost::asio::io_context> context;
  boost::asio::any_io_executor ex;
};

// Runs a handler; an exception it lets out is answered 500 `internal` through `answer` (a
// handler's bug must not take a pool or I/O thread down, nor leave the request unanswered).
template <class Call, class Answer>
void run_guarded(Call&& call, Answer&& answer) {
  try {
    call();
  } catch (const std::exception& e) {
    answer(response::error(errc::internal, std::string("handler failed: ") + e.what()));
  } catch (...) {
    answer(response::error(errc::internal, "handler failed"));
  }
}

// Runs the route's handler: on the calling thread when `pool` is null, else as a job of `pool`
// (a full queue answers 503 overloaded with Retry-After). Completes `token` with the response,
// always on the executor associated with the completion handler (the session's strand).
// `req` and `auth` must stay alive until then.
template <class Token>
auto async_invoke(std::shared_ptr<boost::asio::io_context> context, work_pool* pool, const route* r,
                  const request& req, const auth_context& auth, int retry_after_s, Token&& token) {
  return boost::asio::async_initiate<Token, void(response)>(
      [context = std::move(context), pool, r, &req, &auth, retry_after_s](auto handler) {
        auto target = std::make_shared<answer_target>(
            answer_target{context, boost::asio::get_associated_executor(handler)});
        auto h = std::make_shared<decltype(handler)>(std::move(handler));
        // The answer always travels back to the session's strand, whichever thread made it.
        // The handler moves into the posted operation, so nothing of the session stays behind
        // in the responder.
        responder done([h, target](response res) {
          boost::asio::post(target->ex, [handler = std::move(*h), res = std::move(res)]() mutable {
            std::move(handler)(std::move(res));
          });
        });
        auto job = [r, &req, &auth, done]() {
          run_guarded([&] { r->handler(req, auth, done); }, done);
        };
        if (pool == nullptr) {
          job();
        } else if (!pool->try_post(job)) {
          done(response::error(errc::overloaded, "the " + pool->name() + " queue is full",
                               retry_after_s));
        }
      },
      token);
}

// Calls a synchronous handler right here (run_on::io routes added with a sync_handler).
inline response invoke_inline(const route& r, const request& req, const auth_context& auth) {
  response out;
  run_guarded([&] { out = r.sync(req, auth); }, [&](response failed) { out = std::move(failed); });
  return out;
}

}  // namespace hashguard::api::detail
