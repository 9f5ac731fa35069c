# deps.mk: the Debian packages mkprov needs, in this one list.
#
# make deps asks dpkg which are missing and installs only those, with
# no recommended packages (ansible-core would otherwise pull a 259 MB
# collection bundle).  When all are present it does nothing and is
# done in well under a second, so make demo and make check run it
# first.

DEPS_PKGS := gcc libc6-dev make pkg-config \
	libcurl4-openssl-dev libssh2-1-dev libyajl-dev check \
	jq curl ca-certificates openssl python3 \
	openssh-server openssh-client postgresql ansible-core age

SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: deps
deps:
	$(Q)missing=$$(for p in $(DEPS_PKGS); do \
		s=$$(dpkg-query -W -f='$${db:Status-Status}' $$p \
		    2>/dev/null); \
		[ "$$s" = installed ] || printf '%s ' $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo ">>> deps: installing $$missing"; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
		    apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive \
		    apt-get install -y -qq --no-install-recommends \
		    $$missing >/dev/null || { \
			echo "make: deps: apt-get failed:" \
			    "install $$missing by hand" >&2; exit 1; }; \
	fi
