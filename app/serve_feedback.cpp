#include "serve_feedback.hpp"

#include "serve_tasks.hpp"

#include "hashguard/exchanges/feedback_sender.hpp"
#include "hashguard/hashdb/database.hpp"

#include <iostream>
#include <optional>

namespace hashguard::app {

struct serve_feedback::sender {
  std::string exchange;
  std::string database_url;
  std::unique_ptr<exchanges::source> src;
  std::optional<hashdb::connection> conn;  // opened on first use, reopened after a failure
  std::unique_ptr<core::periodic_task> task;
};

namespace {

core::result<void> send_once(serve_feedback::sender& s) {
  if (!s.conn) {
    auto c = hashdb::connection::open(s.database_url);
    if (!c) return c.error();
    s.conn.emplace(std::move(*c));
  }
  auto r = exchanges::send_due_feedback(*s.conn, s.exchange, *s.src);
  if (!r) {
    s.conn.reset();
    return r.error();
  }
  if (r->sent + r->retrying + r->failed > 0) {
    std::cerr << "hashguard serve: exchange " << s.exchange << " feedback: " << r->sent << " sent, "
              << r->retrying << " to retry, " << r->failed << " failed for good\n";
  }
  return {};
}

}  // namespace

std::unique_ptr<serve_feedback> serve_feedback::start(
    const std::vector<exchanges::exchange_config>& configs, const std::string& database_url,
    std::chrono::seconds interval, serve_tasks& tasks, std::string& problem) {
  std::unique_ptr<serve_feedback> out(new serve_feedback());
  for (const auto& config : configs) {
    if (!config.feedback) continue;
    std::string why;
    auto src = exchanges::make_source(config, &why);
    if (!src) {
      problem = "exchange " + config.name + ": " + core::error_message(src.error()) +
                (why.empty() ? "" : ": " + why);
      return nullptr;
    }
    if (!(*src)->takes_feedback()) {
      problem = "exchange " + config.name + ": feedback = on, but a " + config.kind +
                " source with these settings takes no feedback";
      return nullptr;
    }
    auto s = std::make_unique<sender>();
    s->exchange = config.name;
    s->database_url = database_url;
    s->src = std::move(*src);
    core::periodic_task::options o;
    o.name = "exchange." + config.name + ".feedback";
    o.interval = std::chrono::duration_cast<std::chrono::milliseconds>(interval);
    o.on_failure = log_task_failure();
    sender* raw = s.get();
    s->task =
        std::make_unique<core::periodic_task>(std::move(o), [raw] { return send_once(*raw); });
    tasks.watch(*s->task);
    out->senders_.push_back(std::move(s));
  }
  for (auto& s : out->senders_) (void)s->task->start();
  return out;
}

serve_feedback::~serve_feedback() {
  for (auto& s : senders_) s->src->cancel();
  for (auto& s : senders_) s->task->stop();
}

}  // namespace hashguard::app
