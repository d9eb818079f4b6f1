#include "hashguard/exchanges/sync.hpp"

#include "hashguard/hashdb/errc.hpp"
#include "hashguard/hashdb/exchange_store.hpp"

namespace hashguard::exchanges {
namespace {

hashdb::exchange_page to_store_page(page&& p) {
  hashdb::exchange_page out;
  out.entries.reserve(p.entries.size());
  for (auto& e : p.entries) {
    hashdb::exchange_entry x;
    x.source_id = std::move(e.source_id);
    x.signal = std::move(e.signal);
    x.value = std::move(e.value);
    x.deleted = e.deleted;
    x.tags = std::move(e.tags);
    x.opinion = std::move(e.opinion);
    out.entries.push_back(std::move(x));
  }
  out.checkpoint = std::move(p.checkpoint);
  out.more = p.more;
  out.restart = p.restart;
  return out;
}

// "name: detail" (or the name alone): what the exchange's last_error shows.
std::string reason_of(const core::error_code& ec, const std::string& detail) {
  std::string out = core::error_name(ec);
  if (!detail.empty()) out += ": " + detail;
  return out;
}

}  // namespace

sync_driver::sync_driver(hashdb::connection& conn, std::string exchange, source& src,
                         sync_options options)
    : conn_(conn), exchange_(std::move(exchange)), source_(src), options_(std::move(options)) {}

void sync_driver::cancel() noexcept {
  cancelled_ = true;
  source_.cancel();
}

core::result<sync_report> sync_driver::run() {
  const auto started = std::chrono::steady_clock::now();
  sync_report report;
  hashdb::exchange_store store(conn_);
  auto leased = store.acquire_lease(exchange_, options_.holder, options_.lease_ttl);
  if (!leased) return leased.error();
  if (!*leased) {
    report.lease_busy = true;
    return report;
  }
  auto state = store.get(exchange_);
  if (!state) return state.error();
  std::string checkpoint = state->checkpoint;

  while (true) {
    if (cancelled_) {
      report.error = errc::cancelled;
      break;
    }
    if (options_.max_pages > 0 && report.pages >= options_.max_pages) break;
    auto fetched = source_.fetch(checkpoint);
    if (!fetched) {
      report.error = cancelled_ ? core::error_code(errc::cancelled) : fetched.error();
      report.reason = reason_of(report.error, source_.last_error_detail());
      break;
    }
    const bool more = fetched->more;
    std::string next = fetched->checkpoint;
    auto applied = store.apply_page(exchange_, options_.holder, checkpoint,
                                    to_store_page(std::move(*fetched)), options_.lease_ttl);
    if (!applied) {
      // An entry the store refuses is the source's fault: the page is bad, nothing applied.
      report.error = applied.error() == hashdb::errc::invalid_argument
                         ? core::error_code(errc::bad_page)
                         : applied.error();
      report.reason = reason_of(report.error, conn_.last_error());
      break;
    }
    ++report.pages;
    report.added += applied->added;
    report.updated += applied->updated;
    report.deleted += applied->deleted;
    report.unmatched += applied->unmatched;
    checkpoint = std::move(next);
    if (!more) {
      report.caught_up = true;
      break;
    }
  }
  if (report.error && report.reason.empty()) report.reason = reason_of(report.error, {});
  report.checkpoint = checkpoint;
  auto finished = store.finish_batch(exchange_, options_.holder, report.reason);
  (void)store.release_lease(exchange_, options_.holder);
  report.elapsed = std::chrono::steady_clock::now() - started;
  if (!finished) return finished.error();
  return report;
}

}  // namespace hashguard::exchanges
