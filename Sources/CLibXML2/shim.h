// libxml2 headers used by the EWS codec (push/SAX2 parser, errors).
#ifndef EWSFLEET_CLIBXML2_SHIM_H
#define EWSFLEET_CLIBXML2_SHIM_H
// Debian's libxml2 is built with ICU, so encoding.h would pull in the system <unicode/ucnv.h>,
// whose UErrorCode clashes with Foundation's bundled ICU in the same Swift module. The codec
// never touches the ICU fields of xmlCharEncodingHandler, so hide them.
#include <libxml/xmlversion.h>
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>

// libxml2's generic error callback is variadic, which Swift cannot implement; these no-op
// handlers keep libxml2 from printing to stderr. libxml2 2.9 keeps them per thread, so
// ewsfleet_libxml2_silence() is called on the parsing thread before each parse.
static void ewsfleet_libxml2_generic_noop(void *ctx, const char *msg, ...) {
    (void)ctx; (void)msg;
}
static void ewsfleet_libxml2_structured_noop(void *ctx, xmlErrorPtr error) {
    (void)ctx; (void)error;
}
static inline void ewsfleet_libxml2_silence(void) {
    xmlSetGenericErrorFunc(NULL, ewsfleet_libxml2_generic_noop);
    xmlSetStructuredErrorFunc(NULL, ewsfleet_libxml2_structured_noop);
}
#endif
