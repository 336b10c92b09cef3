/* error.c - error names, the last-error message and server Statuses. */
#include <stdarg.h>
#include <stdio.h>

#include "client_internal.h"

const char *topo_strerror(int err)
{
    switch (err) {
    case TOPO_OK: return "TOPO_OK: success";
    case TOPO_EINVAL: return "TOPO_EINVAL: invalid argument";
    case TOPO_ENOMEM: return "TOPO_ENOMEM: out of memory";
    case TOPO_ECONNECT: return "TOPO_ECONNECT: no server address accepted a connection";
    case TOPO_ETIMEDOUT: return "TOPO_ETIMEDOUT: timed out";
    case TOPO_ECLOSED: return "TOPO_ECLOSED: connection lost";
    case TOPO_EPROTO: return "TOPO_EPROTO: protocol violation by the server";
    case TOPO_ETOOBIG: return "TOPO_ETOOBIG: frame over the size limit";
    case TOPO_ESTATUS: return "TOPO_ESTATUS: the server returned an error status";
    case TOPO_ENOTFOUND: return "TOPO_ENOTFOUND: not found";
    case TOPO_ESTATE: return "TOPO_ESTATE: not valid in this state";
    case TOPO_ESYS: return "TOPO_ESYS: system call failed";
    case TOPO_ELIMIT: return "TOPO_ELIMIT: local limit reached";
    case TOPO_EAUTH: return "TOPO_EAUTH: the server refused the connection (missing or wrong auth_token)";
    }
    return "unknown topology error";
}

void client_set_error(topo_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->last_error, sizeof c->last_error, fmt, ap);
    va_end(ap);
}

int client_status_error(topo_client *c, const w_status *st, const char *what)
{
    c->last_status = st->code;
    client_set_error(c, "%s: server status %d: %s", what, (int)st->code,
                     st->message ? st->message : "");
    return st->code == GRPC_NOT_FOUND ? TOPO_ENOTFOUND : TOPO_ESTATUS;
}
