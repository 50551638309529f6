// libxml2 headers used by the EWS codec (push/SAX2 parser, tree, writer-free escaping).
#ifndef EWSFLEET_CLIBXML2_SHIM_H
#define EWSFLEET_CLIBXML2_SHIM_H
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <libxml/SAX2.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlschemas.h>
#include <libxml/xmlversion.h>
#endif
