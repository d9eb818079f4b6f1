// The database handlers of `hashguard serve` outside the review side (DESIGN.md section 5):
// the admin list routes GET/POST /v1/lists, PATCH and DELETE /v1/lists/{id}, POST
// /v1/lists/{id}/hashes (import with its line report), GET /v1/lists/{id}/export ({id} is a
// list's numeric id or its name), and the cache layer's GET /v1/decisions?since=&limit= (role
// ingest, hashdb/decision_feed.hpp).
//
// Every list change (create, update, retire, import) and export writes an audit row with the
// caller's key id as actor, as `hashguard lists` does with the CLI user.
//
// They run on the database pool; each pool thread keeps its own connection (thread_local,
// reopened after a failure). A change pokes the snapshot task (serve_tasks.hpp) so this node
// rebuilds at once; other nodes see it at their next poll.
#pragma once
#include "hashguard/api/router.hpp"
#include "hashguard/core/periodic_task.hpp"

#include <string>

namespace hashguard::app {

struct admin_deps {
  std::string database_url;
  core::periodic_task* refresher{
      nullptr};  ///< the snapshot task, poked after each change; may be null
};

/// Replaces the 501 placeholders of the /v1/lists routes and GET /v1/decisions.
void add_admin_routes(api::route_table& table, const admin_deps& deps);

}  // namespace hashguard::app
