"""Sending replies on the customer's channel: the `send.requested` hand-off from routing, the
sends table, the platform calls, retries, and the outcome events (`send.completed`,
`send.failed`; contract in shared/events/sends.py).

Flow
----
1. The `ingest-sends` consumer stores each `send.requested` as a row keyed by `send_id` (the
   reply id), in the same transaction as the consumer's processed-event record. A request seen
   again (same event redelivered, or routing publishing the same reply twice) finds the row and
   does nothing: one reply, one row, at most one outcome event.
2. The worker (`worker.py`) claims due rows (`state = requested`, `next_attempt_at <= now`;
   `FOR UPDATE SKIP LOCKED`, so replicas never share a row). Before claiming it checks what
   needs no call: the 24-hour window of Messenger, Instagram Direct and WhatsApp (measured from
   `last_inbound_at`; outside it the send fails `window_closed` and nothing is sent), the
   connection (of the same brand) and its token. A claimed row becomes `in_flight` with
   `attempts + 1` and a lease, and **that is committed before the request leaves**.
3. The call's outcome is written with the outcome event (transactional outbox) in one
   transaction: `completed` + `send.completed`; `failed` + `send.failed` for a permanent error
   (expired token 190, missing permission, deleted comment 100/33, window closed 10/2018278 or
   WhatsApp 131047, X 401/403/404, ...); back to `requested` with `next_attempt_at` for 429,
   5xx, the Graph API's throttling and transient codes, or a connection that never opened
   (exponential backoff with jitter, never sooner than the platform's `Retry-After` or X's
   `x-rate-limit-reset`). Being in the table, a scheduled retry survives a restart. After
   `SOCIALCARE_INGEST_SEND_MAX_ATTEMPTS` the send fails `retries_exhausted`.

Exactly once
------------
A request that may have reached the platform is never blindly repeated. None of these
platform calls takes an idempotency key, so the risk is a call whose answer never came back:
a read timeout, a connection broken after the request was written, or the process stopping
between the committed `in_flight` and the recorded outcome. Each is handled the same way:

- In the running process, such an outcome (`Unknown`) is known at once. After a restart, the
  row is still `in_flight`; when its lease (the longest a call can last, plus 5 s) has run out,
  any worker takes it as interrupted (the lease, not start-up, decides, so a replica never takes
  over a send another replica is still making).
- Facebook Page comment replies can be verified: the Page's replies to a comment appear at once
  in `GET /{comment-id}/comments`. Such a send goes back to `requested` with
  `check_before_send`: the next attempt lists the comment's replies first and, when one by the
  Page carries the same text, records it as sent with that id, posting nothing; only when none
  is there does it post.
- Messenger, Instagram (comment replies and Direct), WhatsApp and X offer no such lookup that
  is reliable at once, so the send becomes `uncertain` and `send.failed` says so
  (`reason: uncertain`, code `timeout`, `connection_lost` or `interrupted`): the case shows
  that someone must look at the conversation, and nothing is sent twice.
- Connection failures before a byte was sent (refused, connect timeout) are safe to retry and
  are retried.
- A worker whose lease ran out before it recorded its outcome finds the row changed and leaves
  it alone, so one attempt never overwrites a newer one.

Tokens come from the connection's encrypted secrets (`page_access_token` + `page_id`,
`whatsapp_token` + `whatsapp_phone_number_id`, `x_user_token`); they travel only in the
`Authorization` header and are never logged or returned.
"""
