// LeakSanitizer suppressions for the hashdb tests (used only in the HG_SANITIZE build).
//
// libpqxx 6.4.5 does not free libpq's PGresult when a statement fails because the server went
// away (a connection broken by a server shutdown): about 200 bytes plus a 2 KiB block per
// broken connection, allocated entirely inside libpq/libpqxx. The outage tests stop servers
// on purpose, so they see it. A leak of ours (a pqxx object we allocate) has our frames on its
// stack and is still reported.
extern "C" const char* __lsan_default_suppressions();
extern "C" const char* __lsan_default_suppressions() {
  return "leak:PQmakeEmptyPGresult\n";
}
