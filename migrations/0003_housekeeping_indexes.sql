-- Indexes for the housekeeping job (src/jobs.rs), which deletes expired rows in small batches.
--
-- 0001 says of revoked_access_tokens "rows expire on their own": they do not. Nothing deletes a row
-- of revoked_access_tokens, refresh_tokens, anon_sessions or idempotency_keys by itself; the
-- housekeeping job does, by the expiry columns indexed in 0001 and here.
--
-- refresh_tokens had no index on either column the job selects by: expired tokens, and revoked
-- ones (a partial index, since most tokens are never revoked).
CREATE INDEX idx_refresh_tokens_expires ON refresh_tokens (expires_at);
CREATE INDEX idx_refresh_tokens_revoked ON refresh_tokens (revoked_at) WHERE revoked_at IS NOT NULL;
