/*
 * http_guard — keeps slow clients from holding CivetWeb's workers.
 *
 * A CivetWeb worker serves one connection from accept to close, and waits on the client
 * while it sends its request head or body: a client that trickles bytes holds the worker
 * (slowloris). The guard follows each worker's connection through CivetWeb's callbacks
 * (init_connection, begin_request, end_request, connection_close) and the API's body reads,
 * and enforces four things:
 *   - a deadline for the request head (http_header_timeout_s), counted from the connection's
 *     arrival or, on a keep-alive connection, from the end of the previous reply;
 *   - a deadline for the whole request body (http_body_timeout_s);
 *   - a cap on the slow connections one address may keep on workers (http_max_per_address;
 *     trusted proxies are exempt, since all their clients share their address);
 *   - a budget of workers that slow connections may hold at once (http_threads -
 *     http_reserved_workers), so that the rest stay free for clients that send their
 *     requests at once.
 * A connection is slow once it has waited 0.25 s for a head or a body: far longer than a
 * prompt client makes a worker wait, so load from one address (many fast keep-alive
 * connections) is never cut. Over the cap or the budget, the slowest connection (the
 * longest wait for a head, then for a body) is cut off, when a connection arrives and ten
 * times a second. A head past its deadline gets 408; a displaced head is closed without a
 * reply (it may be an idle keep-alive connection); a body cut off gets the API's JSON 408
 * (http_guard_body_end). Sockets are cut with shutdown(2): the worker then sees the end of
 * the stream and lets the connection go.
 *
 * What was cut off is counted and logged at most every 10 s (info), not once per client:
 * a flood of slow clients must not become a flood of log lines.
 *
 * Threads: the callbacks run on CivetWeb's workers; a reaper thread of the guard's own
 * enforces the deadlines. One mutex guards the table of workers.
 */
#ifndef TARS_HOST_HTTP_GUARD_H
#define TARS_HOST_HTTP_GUARD_H

#include <stddef.h>
#include <sys/socket.h>

struct mg_callbacks;
struct mg_connection;
struct host;
struct http_guard;

/* A guard for h's HTTP workers (h->cfg); *out stays NULL on failure. Returns 0 or -ENOMEM. */
int http_guard_new(struct host *h, struct http_guard **out);
/* Stops the reaper; call after mg_stop. NULL is fine. */
void http_guard_free(struct http_guard *g);
/*
 * Makes one request to the server at addr, so that the guard knows where CivetWeb keeps a
 * connection's peer before the first client comes (see peer_info in http_guard.c). Call
 * once CivetWeb listens, before the API is installed (the request gets CivetWeb's 404).
 * Returns 0 or a negative errno; on failure the guard learns it from the first client.
 */
int http_guard_calibrate(const struct sockaddr *addr, socklen_t len);
/*
 * The descriptor of the connection from addr:port (as CivetWeb writes the peer) to our
 * local_port, found among the process's: CivetWeb does not expose it. Returns it, or -1.
 * Call while the connection is known to be open (its worker has not closed it yet), so that
 * the descriptor cannot have been reused. The guard calls it under its lock from inside the
 * connection's phases; the stream from its connect handler.
 */
int http_find_socket(const char *addr, int port, int local_port);
/* Installs the guard's CivetWeb callbacks in cb. */
void http_guard_callbacks(struct mg_callbacks *cb);
/* The API is about to read the request body of c (its deadline starts now). */
void http_guard_body_begin(const struct mg_connection *c);
/* The API has read the body: 0, or -ETIMEDOUT when the guard cut it off. */
int http_guard_body_end(const struct mg_connection *c);

#endif
