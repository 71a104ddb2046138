/*
 * wsclient — a small WebSocket client for the stream tests (RFC 6455, text frames, no
 * extensions). Prints each text message on its own line and "close CODE REASON" when the
 * server closes; answers pings.
 *
 *   wsclient PORT PATH [--send TEXT] [--count N] [--seconds S] [--rcvbuf BYTES]
 *            [--stall S]
 *
 * --send: a text message sent right after the handshake (the stream's sign-in);
 * --count: exit after N messages; --seconds: give up after S seconds (exit 2);
 * --rcvbuf: a small receive buffer, so that a stalled client fills up quickly;
 * --stall: read nothing for S seconds after the handshake, then read on.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int
write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads exactly len bytes before the deadline; -1 on EOF or error, -2 on timeout. */
static int
read_all(int fd, void *buf, size_t len, double deadline)
{
    char *p = buf;
    while (len) {
        int left = (int)((deadline - now()) * 1000);
        struct pollfd pf = {fd, POLLIN, 0};
        if (left <= 0 || poll(&pf, 1, left) == 0)
            return -2;
        if (pf.revents & POLLNVAL)
            return -1;
        ssize_t n = read(fd, p, len);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* A masked client frame. */
static int
send_frame(int fd, int opcode, const void *data, size_t len)
{
    unsigned char hdr[14], mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t h = 0;
    hdr[h++] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    unsigned char *body = malloc(len ? len : 1);
    if (!body)
        return -1;
    for (size_t i = 0; i < len; i++)
        body[i] = ((const unsigned char *)data)[i] ^ mask[i % 4];
    int rc = write_all(fd, hdr, h) || write_all(fd, body, len) ? -1 : 0;
    free(body);
    return rc;
}

int
main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: wsclient PORT PATH [--send TEXT] [--count N] [--seconds S] "
                        "[--rcvbuf BYTES] [--stall S]\n");
        return 2;
    }
    const char *send_text = NULL;
    long count = -1, rcvbuf = 0;
    double seconds = 30, stall = 0;
    for (int i = 3; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--send") == 0)
            send_text = argv[i + 1];
        else if (strcmp(argv[i], "--count") == 0)
            count = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--seconds") == 0)
            seconds = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--rcvbuf") == 0)
            rcvbuf = atol(argv[i + 1]);
        else if (strcmp(argv[i], "--stall") == 0)
            stall = atof(argv[i + 1]);
    }
    double deadline = now() + seconds;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (rcvbuf)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[1]))};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        perror("wsclient: connect");
        return 1;
    }
    char req[1024];
    int n = snprintf(req, sizeof req,
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     "Sec-WebSocket-Version: 13\r\n\r\n",
                     argv[2], argv[1]);
    if (write_all(fd, req, (size_t)n))
        return 1;
    /* The response head, byte by byte up to the blank line. */
    char head[4096];
    size_t hl = 0;
    while (hl + 1 < sizeof head && !(hl >= 4 && memcmp(head + hl - 4, "\r\n\r\n", 4) == 0)) {
        if (read_all(fd, head + hl, 1, deadline))
            break;
        hl++;
    }
    head[hl] = '\0';
    if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
        printf("refused %.*s\n", (int)strcspn(head, "\r\n"), head);
        return 1;
    }
    if (send_text && send_frame(fd, 1, send_text, strlen(send_text)))
        return 1;
    if (stall > 0) {
        struct timespec ts = {(time_t)stall, (long)((stall - (time_t)stall) * 1e9)};
        nanosleep(&ts, NULL);
    }
    long got = 0;
    for (;;) {
        unsigned char h2[2], ext[8];
        int rc = read_all(fd, h2, 2, deadline);
        if (rc) {
            printf(rc == -2 ? "timeout\n" : "eof\n");
            return rc == -2 ? 2 : 3;
        }
        int opcode = h2[0] & 0x0f;
        uint64_t len = h2[1] & 0x7f;
        if (len >= 126) {
            size_t el = len == 126 ? 2 : 8;
            if ((rc = read_all(fd, ext, el, deadline)) != 0) {
                printf(rc == -2 ? "timeout\n" : "eof\n");
                return rc == -2 ? 2 : 3;
            }
            len = 0;
            for (size_t i = 0; i < el; i++)
                len = len << 8 | ext[i];
        }
        char *payload = malloc(len + 1);
        if (!payload || (len && (rc = read_all(fd, payload, len, deadline)) != 0)) {
            free(payload);
            printf(rc == -2 ? "timeout\n" : "eof\n");
            return rc == -2 ? 2 : 3;
        }
        payload[len] = '\0';
        if (opcode == 1) {
            printf("%s\n", payload);
            fflush(stdout);
            if (++got == count) {
                free(payload);
                send_frame(fd, 8, "\x03\xe8", 2);
                return 0;
            }
        } else if (opcode == 8) {
            int code = len >= 2 ? ((unsigned char)payload[0] << 8 | (unsigned char)payload[1]) : 0;
            printf("close %d %s\n", code, len > 2 ? payload + 2 : "");
            free(payload);
            return 0;
        } else if (opcode == 9) {
            send_frame(fd, 10, payload, len);
        }
        free(payload);
    }
}
