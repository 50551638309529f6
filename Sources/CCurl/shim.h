// Typed, non-variadic wrappers for libcurl's variadic and macro APIs, which Swift cannot call.
// Every symbol is prefixed `ewsf_` so it can never collide with libcurl's own names.
#ifndef EWSFLEET_CCURL_SHIM_H
#define EWSFLEET_CCURL_SHIM_H
#include <curl/curl.h>

static inline CURLcode ewsf_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ewsf_easy_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ewsf_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ewsf_easy_setopt_write_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, cb);
}
static inline CURLcode ewsf_easy_setopt_header_cb(CURL *h, size_t (*cb)(char *, size_t, size_t, void *)) {
    return curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, cb);
}
static inline CURLcode ewsf_easy_setopt_xferinfo_cb(CURL *h, int (*cb)(void *, curl_off_t, curl_off_t, curl_off_t, curl_off_t)) {
    return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb);
}
static inline CURLcode ewsf_easy_setopt_debug_cb(CURL *h, int (*cb)(CURL *, curl_infotype, char *, size_t, void *)) {
    return curl_easy_setopt(h, CURLOPT_DEBUGFUNCTION, cb);
}
static inline CURLcode ewsf_easy_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode ewsf_easy_getinfo_double(CURL *h, CURLINFO i, double *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode ewsf_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode ewsf_easy_getinfo_ptr(CURL *h, CURLINFO i, void **out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode ewsf_easy_getinfo_str(CURL *h, CURLINFO i, char **out) { return curl_easy_getinfo(h, i, out); }
static inline CURLMcode ewsf_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode ewsf_multi_setopt_ptr(CURLM *m, CURLMoption o, const void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLSHcode ewsf_share_setopt_long(CURLSH *s, CURLSHoption o, long v) { return curl_share_setopt(s, o, v); }

// CURL_WRITEFUNC_PAUSE is a macro; expose it as a value.
static inline size_t ewsf_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }

// Macros with casts that Swift cannot import, exposed as values.
static inline unsigned long ewsf_auth_basic(void) { return CURLAUTH_BASIC; }
static inline unsigned long ewsf_auth_ntlm(void) { return CURLAUTH_NTLM; }
static inline unsigned long ewsf_auth_negotiate(void) { return CURLAUTH_NEGOTIATE; }
static inline unsigned long ewsf_auth_bearer(void) { return CURLAUTH_BEARER; }
static inline int ewsf_pause_cont(void) { return CURLPAUSE_CONT; }
static inline long ewsf_global_all(void) { return CURL_GLOBAL_ALL; }
static inline CURLcode ewsf_easy_setopt_ulong(CURL *h, CURLoption o, unsigned long v) { return curl_easy_setopt(h, o, v); }

// The union inside CURLMsg, read without Swift having to know its layout.
static inline CURLcode ewsf_msg_result(const CURLMsg *m) { return m->data.result; }

// Event-driven mode (curl_multi_socket_action): typed callback setters.
static inline CURLMcode ewsf_multi_setopt_socket_cb(CURLM *m, int (*cb)(CURL *, curl_socket_t, int, void *, void *)) {
    return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, cb);
}
static inline CURLMcode ewsf_multi_setopt_timer_cb(CURLM *m, int (*cb)(CURLM *, long, void *)) {
    return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, cb);
}
static inline curl_socket_t ewsf_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }

#ifdef __linux__
#include <errno.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
// epoll_event is a packed struct with a union; keep it on the C side.
static inline int ewsf_epoll_set(int epfd, int op, int fd, int wantIn, int wantOut) {
    struct epoll_event ev;
    ev.events = (wantIn ? EPOLLIN : 0) | (wantOut ? EPOLLOUT : 0);
    ev.data.u64 = 0;
    ev.data.fd = fd;
    return epoll_ctl(epfd, op, fd, &ev);
}
// Waits and converts up to `max` (<= 256) events to libcurl's CURL_CSELECT_* masks.
static inline int ewsf_epoll_wait(int epfd, int *fds, int *masks, int max, int timeoutMs) {
    struct epoll_event evs[256];
    if (max > 256) max = 256;
    int n = epoll_wait(epfd, evs, max, timeoutMs);
    for (int i = 0; i < n; i++) {
        int m = 0;
        if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLRDHUP)) m |= CURL_CSELECT_IN;
        if (evs[i].events & EPOLLOUT) m |= CURL_CSELECT_OUT;
        if (evs[i].events & EPOLLERR) m |= CURL_CSELECT_ERR;
        fds[i] = evs[i].data.fd;
        masks[i] = m;
    }
    return n;
}
// Adds or modifies the interest in `fd`, whichever applies. Tolerates a stale view of the set:
// the kernel drops a closed descriptor from epoll by itself, and the number may be reused.
static inline int ewsf_epoll_upsert(int epfd, int fd, int wantIn, int wantOut) {
    int rc = ewsf_epoll_set(epfd, EPOLL_CTL_ADD, fd, wantIn, wantOut);
    if (rc != 0 && errno == EEXIST) rc = ewsf_epoll_set(epfd, EPOLL_CTL_MOD, fd, wantIn, wantOut);
    return rc;
}
static inline int ewsf_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }
static inline int ewsf_eventfd(void) { return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC); }
static inline void ewsf_eventfd_signal(int fd) { uint64_t one = 1; ssize_t r = write(fd, &one, sizeof one); (void)r; }
static inline void ewsf_eventfd_drain(int fd) { uint64_t v; ssize_t r = read(fd, &v, sizeof v); (void)r; }
#define EWSF_HAVE_EPOLL 1
#endif
#endif
