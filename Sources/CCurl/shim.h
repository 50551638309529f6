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
#endif
