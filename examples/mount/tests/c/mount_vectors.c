/*
 * Encodes a few MOUNT values with the XDR routines C rpcgen generates from
 * /usr/include/rpcsvc/mount.x (libtirpc) and prints them as
 * "name hexbytes" lines, for tests/c_vectors.rs.
 */
#include <stdio.h>
#include <string.h>
#include "mount.h"
static void dump(const char *name, char *buf, unsigned len) {
  printf("%s ", name);
  for (unsigned i = 0; i < len; i++) printf("%02x", (unsigned char)buf[i]);
  printf("\n");
}
int main(void) {
  char buf[4096]; XDR x;
  /* exports: /a [g1 g2] -> /bb [] */
  struct groupnode g2 = {"g2", NULL}, g1 = {"g1", &g2};
  struct exportnode e2 = {"/bb", NULL, NULL}, e1 = {"/a", &g1, &e2};
  exports ex = &e1;
  xdrmem_create(&x, buf, sizeof buf, XDR_ENCODE);
  if (!xdr_exports(&x, &ex)) return 1;
  dump("exports", buf, xdr_getpos(&x));
  fhstatus f; memset(&f, 0, sizeof f); f.fhs_status = 0; memset(f.fhstatus_u.fhs_fhandle, 7, FHSIZE);
  xdrmem_create(&x, buf, sizeof buf, XDR_ENCODE);
  if (!xdr_fhstatus(&x, &f)) return 1;
  dump("fhstatus_ok", buf, xdr_getpos(&x));
  f.fhs_status = 13;
  xdrmem_create(&x, buf, sizeof buf, XDR_ENCODE);
  if (!xdr_fhstatus(&x, &f)) return 1;
  dump("fhstatus_err", buf, xdr_getpos(&x));
  struct mountbody m2 = {"h2", "/d2", NULL}, m1 = {"host1", "/dir", &m2};
  mountlist ml = &m1;
  xdrmem_create(&x, buf, sizeof buf, XDR_ENCODE);
  if (!xdr_mountlist(&x, &ml)) return 1;
  dump("mountlist", buf, xdr_getpos(&x));
  return 0;
}
