#!/bin/sh
# mkca.sh: make a throwaway certificate authority and one server
# certificate signed by it, for HTTPS fakes that libcurl must trust
# through CURLOPT_CAINFO and nothing else.
#
# usage: mkca.sh DIR [SAN...]
#
# Writes DIR/ca.pem, DIR/ca.key, DIR/cert.pem and DIR/key.pem.  Each
# SAN is an openssl subjectAltName entry such as IP:127.0.0.2 or
# DNS:api.example.test; the default is IP:127.0.0.1 and DNS:localhost.
# Keys are P-256 (fast to make) and readable by their owner only.  The
# certificates last 30 days: long enough for a sandbox, short enough
# that a forgotten one does not linger as a trusted CA.
#
# Exit status: 0 done, 1 openssl failed, 3 usage.

prog=mkca.sh
days=30

usage() {
	echo "usage: $prog DIR [SAN...]" >&2
	exit 3
}

die() {
	echo "$prog: $*" >&2
	exit 1
}

# Joins the SAN arguments with commas, checking each has a type, so a
# bare "localhost" fails here rather than deep inside openssl.
san_list() {
	list=
	for san in "$@"; do
		case $san in
		IP:?*|DNS:?*) ;;
		*) echo "$prog: $san: bad SAN: write IP:ADDR or" \
		       "DNS:NAME" >&2
		   exit 3 ;;
		esac
		list=${list:+$list,}$san
	done
	printf '%s\n' "$list"
}

# The CA may sign certificates and nothing else.
make_ca() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$dir/ca.key" 2>"$dir/.err" &&
	openssl req -x509 -new -key "$dir/ca.key" -days "$days" \
	    -subj "/CN=mkprov throwaway test CA $$" \
	    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" \
	    -out "$dir/ca.pem" 2>"$dir/.err"
}

# The leaf is a server certificate for exactly the names given.
make_leaf() {
	cat >"$dir/.ext" <<-EOF
	basicConstraints = critical,CA:FALSE
	keyUsage = critical,digitalSignature
	extendedKeyUsage = serverAuth
	subjectAltName = $1
	subjectKeyIdentifier = hash
	authorityKeyIdentifier = keyid
	EOF
	serial=0x$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
	    -out "$dir/key.pem" 2>"$dir/.err" &&
	openssl req -new -key "$dir/key.pem" -subj "/CN=mkprov test server" \
	    -out "$dir/.csr" 2>"$dir/.err" &&
	openssl x509 -req -in "$dir/.csr" -CA "$dir/ca.pem" \
	    -CAkey "$dir/ca.key" -set_serial "$serial" -days "$days" \
	    -extfile "$dir/.ext" -out "$dir/cert.pem" 2>"$dir/.err"
}

[ $# -ge 1 ] || usage
dir=$1
shift
[ -n "$dir" ] || usage
if [ $# -eq 0 ]; then
	set -- IP:127.0.0.1 DNS:localhost
fi
sans=$(san_list "$@") || exit $?

umask 077
mkdir -p "$dir" || die "$dir: cannot make the directory"
make_ca || die "$dir/ca.pem: openssl failed: $(tail -n 1 "$dir/.err")"
make_leaf "$sans" ||
	die "$dir/cert.pem: openssl failed: $(tail -n 1 "$dir/.err")"
rm -f "$dir/.err" "$dir/.ext" "$dir/.csr"
# Certificates are public; only the keys stay private.
chmod 0644 "$dir/ca.pem" "$dir/cert.pem"
