package pingid

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hashicorp/terraform-plugin-log/tflog"

	"github.com/pingid-provisioner/terraform-provider-pingid/internal/concurrency"
)

// maxMessageBytes bounds the server message kept in an APIError.
const maxMessageBytes = 512

type callOptions struct {
	// checkBeforeResend runs before an attempt that follows one whose outcome is unknown
	// (the request may have been processed). done=true stops the call without resending.
	checkBeforeResend func(ctx context.Context) (done bool, err error)
}

type callResult struct {
	resp *apiResponse
	// unknownOutcome: at least one attempt may have been processed without us seeing the
	// answer, so a "not found" / "already exists" on a later attempt may be our own doing.
	unknownOutcome bool
}

type attemptResult struct {
	resp          *apiResponse
	err           error
	retryable     bool
	unknown       bool // the request may have been processed
	retryAfter    time.Duration
	hasRetryAfter bool
	status        int  // HTTP status, 0 when no response arrived
	timedOut      bool // the attempt ran out of its request timeout
}

// call sends one operation with bounded retries. Each attempt takes a concurrency slot only
// while it is in flight, so waiting in backoff (or a nested lookup) never starves others.
func (c *Client) call(ctx context.Context, op, username string, body any, opts callOptions) (callResult, error) {
	var res callResult
	rawBody, err := json.Marshal(body)
	if err != nil {
		return res, fmt.Errorf("pingid %s %q: encoding request body: %w", op, username, err)
	}
	uncheckedUnknown := false
	for attempt := 1; ; attempt++ {
		if uncheckedUnknown && opts.checkBeforeResend != nil {
			done, err := opts.checkBeforeResend(ctx)
			if err != nil {
				return res, err
			}
			if done {
				return res, nil
			}
			uncheckedUnknown = false
		}

		out := c.attempt(ctx, op, username, rawBody, attempt)
		if out.unknown {
			res.unknownOutcome = true
			uncheckedUnknown = true
		}
		if out.err == nil {
			res.resp = out.resp
			return res, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			return res, fmt.Errorf("pingid %s %q: %w", op, username, ctxErr)
		}
		if !out.retryable || attempt > c.maxRetries {
			return res, out.err
		}

		c.retries.Add(1)
		wait := c.backoff(attempt, out.retryAfter, out.hasRetryAfter)
		tflog.Debug(ctx, "PingID API call will be retried", map[string]any{
			"operation": op,
			"username":  username,
			"attempt":   attempt,
			"wait_ms":   wait.Milliseconds(),
			"reason":    out.err.Error(),
		})
		if err := c.sleep(ctx, wait); err != nil {
			return res, fmt.Errorf("pingid %s %q: waiting to retry: %w", op, username, err)
		}
	}
}

// attempt sends one signed request while holding a slot of the adaptive concurrency limit,
// and tells the limit how the server coped.
func (c *Client) attempt(ctx context.Context, op, username string, body json.RawMessage, attempt int) attemptResult {
	slot, err := c.limiter.Acquire(ctx)
	if err != nil {
		return attemptResult{err: fmt.Errorf("pingid %s %q: %w", op, username, err)}
	}
	out := c.send(ctx, op, username, body, attempt)
	outcome := concurrency.Succeeded
	switch {
	case out.status == http.StatusTooManyRequests:
		c.throttled.Add(1)
		outcome = concurrency.Overloaded
	case out.status == http.StatusServiceUnavailable:
		c.unavailable.Add(1)
		outcome = concurrency.Overloaded
	case out.status == http.StatusGatewayTimeout, out.timedOut && ctx.Err() == nil:
		// A call that ran out of time is the strongest sign of a server past its capacity.
		outcome = concurrency.Overloaded
	case out.status == 0:
		outcome = concurrency.Failed // no answer, no latency to learn from
	}
	slot.Release(outcome, min(out.retryAfter, c.maxBackoff))
	return out
}

// send signs and sends one request and classifies the answer.
func (c *Client) send(ctx context.Context, op, username string, body json.RawMessage, attempt int) attemptResult {

	// A fresh timestamp per attempt: a retry is a new request.
	payload, err := buildRequestPayload(c.creds, c.now(), body)
	if err != nil {
		return attemptResult{err: fmt.Errorf("pingid %s %q: %w", op, username, err)}
	}
	token, err := signCompact(c.signer, payload)
	if err != nil {
		return attemptResult{err: fmt.Errorf("pingid %s %q: %w", op, username, err)}
	}

	attemptCtx, cancel := context.WithTimeout(ctx, c.requestTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(attemptCtx, http.MethodPost, c.endpointBase+"/rest/4/"+op+"/do", strings.NewReader(token))
	if err != nil {
		return attemptResult{err: fmt.Errorf("pingid %s %q: building request: %w", op, username, err)}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "*/*")
	req.Header.Set("User-Agent", "terraform-provider-pingid")

	c.countAttempt(op)
	start := time.Now()
	logAttempt := func(status, errorID int) {
		tflog.Debug(ctx, "PingID API call", map[string]any{
			"operation":   op,
			"username":    username,
			"http_status": status,
			"error_id":    errorID,
			"latency_ms":  time.Since(start).Milliseconds(),
			"attempt":     attempt,
		})
	}

	httpResp, err := c.httpClient.Do(req)
	if err != nil {
		logAttempt(0, 0)
		if isCertificateError(err) {
			// The handshake failed before anything was sent, and retrying cannot make an
			// untrusted or mismatched certificate valid.
			return attemptResult{err: fmt.Errorf("pingid %s %q: TLS certificate not trusted: %w", op, username, err)}
		}
		// The request may have reached the server before the connection failed.
		return attemptResult{err: fmt.Errorf("pingid %s %q: %w", op, username, err), retryable: true, unknown: true,
			timedOut: errors.Is(attemptCtx.Err(), context.DeadlineExceeded)}
	}
	data, err := io.ReadAll(io.LimitReader(httpResp.Body, maxResponseBytes+1))
	httpResp.Body.Close()
	status := httpResp.StatusCode
	if err != nil {
		logAttempt(status, 0)
		return attemptResult{err: fmt.Errorf("pingid %s %q: reading response (HTTP %d): %w", op, username, status, err), retryable: true, unknown: true,
			status: status, timedOut: errors.Is(attemptCtx.Err(), context.DeadlineExceeded)}
	}
	if len(data) > maxResponseBytes {
		logAttempt(status, 0)
		return attemptResult{err: fmt.Errorf("pingid %s %q: response larger than %d bytes (HTTP %d)", op, username, maxResponseBytes, status), status: status}
	}

	resp, decodeErr := decodeResponse(op, username, status, data, c.key)
	var apiErr *APIError
	switch {
	case decodeErr == nil:
		logAttempt(status, resp.ErrorID)
	case errors.As(decodeErr, &apiErr):
		apiErr.Message = c.redact(apiErr.Message)
		logAttempt(status, apiErr.ErrorID)
	default:
		logAttempt(status, 0)
	}

	out := attemptResult{resp: resp, err: decodeErr, status: status}
	if status == http.StatusTooManyRequests || status >= 500 {
		if out.err == nil {
			// A 5xx never counts as success, whatever the body says.
			out.err = &APIError{Operation: op, Username: username, HTTPStatus: status, Message: http.StatusText(status)}
			out.resp = nil
		}
		out.retryable = true
		// A throttled request was not processed; a 5xx may have been.
		out.unknown = status >= 500
		out.retryAfter, out.hasRetryAfter = parseRetryAfter(httpResp.Header.Get("Retry-After"), c.now())
	}
	return out
}

// backoff returns the wait before attempt+1: full jitter over an exponential ceiling, or the
// server's Retry-After plus a little jitter (so throttled callers do not return in lockstep),
// always capped by maxBackoff.
func (c *Client) backoff(attempt int, retryAfter time.Duration, hasRetryAfter bool) time.Duration {
	if hasRetryAfter {
		wait := retryAfter + randDuration(c.minBackoff)
		return min(wait, c.maxBackoff)
	}
	ceiling := c.maxBackoff
	if shift := attempt - 1; shift < 62 {
		if scaled := c.minBackoff << shift; scaled > 0 && scaled>>shift == c.minBackoff && scaled < ceiling {
			ceiling = scaled
		}
	}
	return randDuration(ceiling)
}

// randDuration returns a uniformly random duration in [0, limit].
func randDuration(limit time.Duration) time.Duration {
	if limit <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(limit) + 1))
}

// parseRetryAfter reads Retry-After as delay-seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs < 0 {
			return 0, false
		}
		// Anything beyond a day is capped by maxBackoff anyway; avoid overflow.
		secs = min(secs, 86400)
		return time.Duration(secs) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

func sleepContext(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-timer.C:
		return nil
	}
}

// redact removes the credentials' secrets from a server-supplied message (a misbehaving
// server or proxy could echo them) and bounds its length.
func (c *Client) redact(msg string) string {
	for _, secret := range []string{c.creds.Token, c.creds.Base64Key, strings.TrimRight(c.creds.Base64Key, "=")} {
		if secret != "" {
			msg = strings.ReplaceAll(msg, secret, "[redacted]")
		}
	}
	if len(msg) > maxMessageBytes {
		cut := maxMessageBytes
		for cut > 0 && !utf8.RuneStart(msg[cut]) {
			cut--
		}
		msg = msg[:cut] + "…"
	}
	return msg
}

// String keeps the key and token out of formatted output.
func (c *Client) String() string {
	return fmt.Sprintf("pingid.Client{IDPURL:%q, OrgAlias:%q}", c.creds.IDPURL, c.creds.OrgAlias)
}

// isCertificateError reports a TLS certificate verification failure.
func isCertificateError(err error) bool {
	var (
		verifyErr   *tls.CertificateVerificationError
		unknownAuth x509.UnknownAuthorityError
		hostErr     x509.HostnameError
		invalidErr  x509.CertificateInvalidError
	)
	return errors.As(err, &verifyErr) || errors.As(err, &unknownAuth) || errors.As(err, &hostErr) || errors.As(err, &invalidErr)
}
