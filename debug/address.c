/* Addresses for the debug server: numeric parsing (no name lookups: a
 * resolver could block or surprise), the loopback rule, and the
 * PREEMPT_DEBUG=ADDR:PORT syntax. */
#define _GNU_SOURCE
#include "debug_impl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int preempt_debug__sockaddr(const char *address, unsigned short port,
                            struct sockaddr_storage *ss, socklen_t *len) {
  memset(ss, 0, sizeof *ss);
  if (!address || !*address || !strcmp(address, "localhost"))
    address = "127.0.0.1";
  struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
  if (inet_pton(AF_INET, address, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    *len = sizeof *v4;
    return 0;
  }
  if (inet_pton(AF_INET6, address, &v6->sin6_addr) == 1) {
    if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
      /* ::ffff:a.b.c.d: an IPv4 address (a v6-only socket cannot bind it) */
      struct in_addr in;
      memcpy(&in, &v6->sin6_addr.s6_addr[12], sizeof in);
      memset(ss, 0, sizeof *ss);
      v4->sin_family = AF_INET;
      v4->sin_addr = in;
      v4->sin_port = htons(port);
      *len = sizeof *v4;
      return 0;
    }
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    *len = sizeof *v6;
    return 0;
  }
  preempt_debug__set_error("preempt_debug_start: address \"%s\" is not a "
                           "numeric IPv4 or IPv6 address (nor \"localhost\")",
                           address);
  errno = EINVAL;
  return -1;
}

bool preempt_debug__is_loopback(const struct sockaddr_storage *ss) {
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)ss;
    return (ntohl(v4->sin_addr.s_addr) >> 24) == 127;
  }
  if (ss->ss_family == AF_INET6) {
    const struct in6_addr *a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(a))
      return true;
    /* ::ffff:127.x.y.z is IPv4 loopback too. */
    return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
  }
  return false;
}

int preempt_debug__split_hostport(const char *text, char *addr, size_t addrlen,
                                  unsigned short *port) {
  const char *portstr = text;
  size_t alen = 0;
  const char *astart = text;
  if (text[0] == '[') { /* [v6]:port */
    const char *close = strchr(text, ']');
    if (!close || close[1] != ':')
      goto bad;
    astart = text + 1;
    alen = (size_t)(close - astart);
    portstr = close + 2;
  } else {
    const char *colon = strrchr(text, ':');
    if (colon) {
      if (strchr(text, ':') != colon) /* a bare v6 address needs [] */
        goto bad;
      alen = (size_t)(colon - text);
      portstr = colon + 1;
    }
  }
  if (alen >= addrlen)
    goto bad;
  memcpy(addr, astart, alen);
  addr[alen] = 0;
  char *end;
  errno = 0;
  unsigned long p = strtoul(portstr, &end, 10);
  if (!*portstr || *end || errno || p > 65535 || *portstr == '-' ||
      *portstr == '+')
    goto bad;
  *port = (unsigned short)p;
  return 0;
bad:
  preempt_debug__set_error(
      "PREEMPT_DEBUG=\"%s\": expected ADDR:PORT, [IPV6]:PORT, :PORT or PORT "
      "(PORT 0 to 65535; 0: any free port)",
      text);
  errno = EINVAL;
  return -1;
}

bool preempt_debug__host_is_loopback(const char *host) {
  char name[128];
  const char *end;
  if (host[0] == '[') { /* [v6] or [v6]:port */
    end = strchr(host, ']');
    if (!end || (end[1] && end[1] != ':'))
      return false;
    host++;
  } else {
    end = strchr(host, ':');
    if (!end)
      end = host + strlen(host);
  }
  size_t n = (size_t)(end - host);
  if (n >= sizeof name)
    return false;
  memcpy(name, host, n);
  name[n] = 0;
  if (!strcasecmp(name, "localhost"))
    return true;
  struct sockaddr_storage ss;
  socklen_t len;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, name, &v4->sin_addr) == 1)
    ss.ss_family = AF_INET;
  else if (inet_pton(AF_INET6, name, &v6->sin6_addr) == 1)
    ss.ss_family = AF_INET6;
  else
    return false;
  (void)len;
  return preempt_debug__is_loopback(&ss);
}
