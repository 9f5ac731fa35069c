# site.mk: the settings of a site, read from the file SITE names.
#
# A site file is in make syntax; mk/site.example documents every
# setting.  Without a site.mk of your own at the top of the tree, the
# sandbox's (tests/sandbox/site.mk) is used, so nothing reaches a real
# cloud by accident.  A setting may be given for one host only by
# prefixing its name with the host's: "bruno-2.SERVER_TYPE = cpx42".
#
# The settings are checked when make reads this file, and only for
# goals that act on a host, so make help and make check need no site.

SITE ?= $(firstword $(wildcard $(TOP)/site.mk) \
	$(TOP)/tests/sandbox/site.mk)

SITE_GOALS := $(HOST_GOALS) status demo-provision

# Every setting a site may give, in the order mk/site.example has them.
SETTINGS := INFISICAL_URL INFISICAL_PROJECT_ID INFISICAL_ENV \
	INFISICAL_PATH INFISICAL_CREDENTIALS REQUIRED_SECRETS \
	DEVICES_SECRET CAFILE HETZNER_URL SERVER_TYPE SERVER_IMAGE \
	SERVER_LOCATION SERVER_LABELS SSH_USER SSH_PORT SSH_KEY \
	SERVER_ROLE DOMAIN_SUFFIX CLOUDFLARE_URL DNS_ZONE DNS_RECORDS \
	SERVER_WAIT LOCK_WAIT INVENTORY BOOTSTRAP_BUNDLE

# Defaults a site may leave out; everything else must be set.
INFISICAL_ENV ?= prod
INFISICAL_PATH ?= /
DEVICES_SECRET ?= SSH_KEYS_ACTIVE_DEVICES
HETZNER_URL ?= https://api.hetzner.cloud/v1
CLOUDFLARE_URL ?= https://api.cloudflare.com/client/v4
SERVER_IMAGE ?= ubuntu-24.04
SSH_USER ?= root
SSH_PORT ?= 22
SERVER_ROLE ?= production
SERVER_WAIT ?= 15m
LOCK_WAIT ?= 30s
INVENTORY ?= $(TOP)/inventory/hosts.yml
# Names the helpers ask for; a site lists more in REQUIRED_SECRETS.
REQUIRED_SECRETS ?= HETZNER_API_TOKEN CLOUDFLARE_API_TOKEN

ifneq ($(filter $(SITE_GOALS),$(MAKECMDGOALS)),)

ifeq ($(wildcard $(SITE)),)
$(error SITE: $(SITE): no such file: copy mk/site.example to site.mk \
	and fill it in)
endif
include $(SITE)

# A host's own settings win over the site's.
$(foreach v,$(SETTINGS),$(if $(filter-out undefined,\
	$(origin $(HOST).$(v))),$(eval $(v) := $$($(HOST).$(v)))))

DNS_ZONE ?= $(DOMAIN_SUFFIX)

# A path in a site is relative to the top of the tree, wherever make
# was started from.
abs_path = $(if $(strip $(1)),$(if $(filter /%,$(1)),$(1),$(TOP)/$(1)))
$(foreach v,INVENTORY CAFILE SSH_KEY INFISICAL_CREDENTIALS BOOTSTRAP_BUNDLE,\
	$(eval $(v) := $(call abs_path,$(strip $($(v))))))

# need VAR HOWTO: VAR must not be empty.
need = $(if $(strip $($(1))),,$(error $(1): not set: $(2)))
$(call need,INFISICAL_URL,the Infisical server, e.g. \
	https://secrets.example.com)
$(call need,INFISICAL_PROJECT_ID,the project that holds the secrets \
	(Project Settings in Infisical))
$(call need,SERVER_TYPE,a Hetzner server type, e.g. cpx32)
$(call need,SERVER_LOCATION,a Hetzner location, e.g. nbg1)
$(call need,DOMAIN_SUFFIX,the domain the services live under)
$(call need,DNS_RECORDS,records as name:proxied or name:dns-only)

$(if $(filter-out 0 1 2 3 4 5 6 7 8 9,$(subst 0, 0 ,$(subst 1, 1 ,\
	$(subst 2, 2 ,$(subst 3, 3 ,$(subst 4, 4 ,$(subst 5, 5 ,\
	$(subst 6, 6 ,$(subst 7, 7 ,$(subst 8, 8 ,$(subst 9, 9 ,\
	$(SSH_PORT)))))))))))),$(error SSH_PORT: '$(SSH_PORT)' is not a \
	port number: give one from 1 to 65535))

# Each DNS record is name:proxied or name:dns-only, named once.
DNS_NAMES := $(foreach r,$(DNS_RECORDS),$(firstword $(subst :, ,$(r))))
$(foreach r,$(DNS_RECORDS),$(if $(filter proxied dns-only,\
	$(word 2,$(subst :, ,$(r)))),,$(error DNS_RECORDS: '$(r)': \
	write name:proxied or name:dns-only)))
$(foreach n,$(sort $(DNS_NAMES)),$(if $(filter-out 1,\
	$(words $(filter $(n),$(DNS_NAMES)))),$(error DNS_RECORDS: '$(n)' \
	is listed twice: keep one)))

$(foreach l,$(SERVER_LABELS),$(if $(findstring =,$(l)),,$(error \
	SERVER_LABELS: '$(l)': write key=value)))
$(if $(filter mkprov/%,$(SERVER_LABELS)),$(error SERVER_LABELS: the \
	prefix mkprov/ is mkprov's own: use another key))

endif
