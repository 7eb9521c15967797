-- A webhook cannot be read back: what it was told is all hikeshi knows. A revoked or ended
-- action it may have applied is told to undo it once, and this says when that was answered.
ALTER TABLE response_actions ADD COLUMN undone_at BIGINT;
