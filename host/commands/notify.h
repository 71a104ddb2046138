/*
 * notify — tells systemd how the service is doing (sd_notify(3)'s protocol: a datagram of
 * "KEY=VALUE" lines to the socket named in $NOTIFY_SOCKET), without linking libsystemd.
 * Under Type=notify the unit is started once the worker serves, not when the process exists.
 */
#ifndef TARS_HOST_NOTIFY_H
#define TARS_HOST_NOTIFY_H

/* Sends state (e.g. "READY=1") when $NOTIFY_SOCKET is set: 1 sent, 0 not asked, -errno. */
int service_notify(const char *state);

#endif
