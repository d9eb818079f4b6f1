-- Hot cases (issue 15): a case's events are read a page at a time, newest first, and a range
-- export walks events by time, so both need an index in that order. Without them, the newest
-- 100 events of a 200,000-event case sort every event of the case, and each page of an events
-- export scans the whole table (quadratic in the range). (case_id, occurred_at, id) also
-- serves every lookup by case_id alone, so it replaces events_case.
CREATE INDEX events_case_time ON events (case_id, occurred_at, id);
DROP INDEX events_case;
CREATE INDEX events_time ON events (occurred_at, id);
