-- vPDQ video lists (issue 17). A list of signal 'vpdq' holds videos: each is one row of hashes
-- (value: the SHA-256 of its frame text, so a re-imported video is a duplicate; external_id:
-- its name) and one row of vpdq_frames with its frames packed as the list store writes them
-- (hashdb/src/vpdq_lists.cpp: 41 bytes a frame). Its threshold is the frame distance; a video
-- matches when the shares of matched query frames and of its own frames reach the two
-- percentages below (python-threatexchange's defaults: 80 and 0).
ALTER TABLE hash_lists DROP CONSTRAINT hash_lists_signal_check;
ALTER TABLE hash_lists
  ADD CONSTRAINT hash_lists_signal_check
    CHECK (signal IN ('pdq', 'phash', 'md5', 'sha1', 'sha256', 'vpdq')),
  ADD COLUMN video_query_percent double precision NOT NULL DEFAULT 80
    CHECK (video_query_percent > 0 AND video_query_percent <= 100),
  ADD COLUMN video_compared_percent double precision NOT NULL DEFAULT 0
    CHECK (video_compared_percent >= 0 AND video_compared_percent <= 100);

CREATE TABLE vpdq_frames (
  entry_id  bigint PRIMARY KEY REFERENCES hashes(id),
  frames    integer NOT NULL CHECK (frames > 0),
  data      bytea NOT NULL CHECK (length(data) = 41 * frames)
);
