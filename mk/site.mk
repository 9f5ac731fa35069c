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

# Goals that read the site: those on a host check every setting; make
# status needs only STATE and INVENTORY, so a site not yet complete
# (or a sandbox not yet started) still shows what is known.
SITE_GOALS := $(HOST_GOALS) status

# Every setting a site may give, in the order mk/site.example has them.
SETTINGS := INFISICAL_URL INFISICAL_PROJECT_ID INFISICAL_ENV \
	INFISICAL_PATH INFISICAL_CREDENTIALS REQUIRED_SECRETS \
	DEVICES_SECRET CAFILE HETZNER_URL SERVER_TYPE SERVER_IMAGE \
	SERVER_LOCATION SERVER_LABELS SSH_USER SSH_PORT SSH_KEY \
	SERVER_ROLE DOMAIN_SUFFIX INVENTORY BOOTSTRAP_PLAYBOOK \
	DEPLOY_PLAYBOOK SERVICES_DIR TRAEFIK_CONTAINER \
	INFISICAL_CONTAINER INFISICAL_DB_CONTAINER CLOUDFLARE_URL \
	DNS_ZONE DNS_RECORDS SERVER_WAIT LOCK_WAIT BOOTSTRAP_BUNDLE

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
# The runbook's playbooks, its services directory and container names.
BOOTSTRAP_PLAYBOOK ?= playbooks/site.yml
DEPLOY_PLAYBOOK ?= playbooks/deploy-services.yml
SERVICES_DIR ?= /root/coder-core/services/production
TRAEFIK_CONTAINER ?= traefik
INFISICAL_CONTAINER ?= infisical
INFISICAL_DB_CONTAINER ?= infisical-postgres
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
$(foreach v,INVENTORY CAFILE SSH_KEY INFISICAL_CREDENTIALS \
	BOOTSTRAP_BUNDLE BOOTSTRAP_PLAYBOOK DEPLOY_PLAYBOOK,\
	$(eval $(v) := $(call abs_path,$(strip $($(v))))))

endif

ifneq ($(filter $(HOST_GOALS),$(MAKECMDGOALS)),)

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
$(foreach v,INFISICAL_ENV DEVICES_SECRET HETZNER_URL CLOUDFLARE_URL \
	SERVER_IMAGE SSH_USER SSH_PORT SERVER_ROLE INVENTORY SERVER_WAIT \
	LOCK_WAIT BOOTSTRAP_PLAYBOOK DEPLOY_PLAYBOOK SERVICES_DIR \
	TRAEFIK_CONTAINER INFISICAL_CONTAINER INFISICAL_DB_CONTAINER,\
	$(call need,$(v),see mk/site.example or leave it out for the \
	default))

# The form of each value, so that a typo stops here and not halfway
# through a phase.  TLS is never optional, so every API is https.
# (An ERE never starts a continued line: make would add a space to it.)
word-ere := [A-Za-z0-9][A-Za-z0-9._-]*
url-ere := https://[^[:space:]]+
user-ere := [a-z_][a-z0-9_-]{0,31}
port-ere := [1-9][0-9]{0,4}
$(foreach v,INFISICAL_URL HETZNER_URL CLOUDFLARE_URL,$(call like,$(v),\
	$(url-ere),is not an https URL: give https://HOST/...))
$(foreach v,INFISICAL_PROJECT_ID INFISICAL_ENV SERVER_TYPE \
	SERVER_IMAGE SERVER_LOCATION TRAEFIK_CONTAINER INFISICAL_CONTAINER \
	INFISICAL_DB_CONTAINER,$(call like,$(v),$(word-ere),is not one \
	word: use letters$(,) digits$(,) dots$(,) dashes and underscores))
$(call like,INFISICAL_PATH,/[^[:space:]]*,is not a secret path: \
	start it with /, e.g. /)
$(foreach v,DEVICES_SECRET $(REQUIRED_SECRETS),$(call like-value,\
	$(if $(filter $(v),$(DEVICES_SECRET)),DEVICES_SECRET,\
	REQUIRED_SECRETS),$(v),[A-Z_][A-Z0-9_]*,is not a secret name: \
	use upper-case letters$(,) digits and underscores))
$(call like,SSH_USER,$(user-ere),is not a user name: use \
	lower-case letters$(,) digits$(,) dashes and underscores)
$(call like,SSH_PORT,$(port-ere),is not a port number: give one \
	from 1 to 65535)
$(if $(shell [ $(SSH_PORT) -le 65535 ] && echo ok),,$(error SSH_PORT: \
	'$(SSH_PORT)' is not a port number: give one from 1 to 65535))
$(call like,SERVER_ROLE,[A-Za-z_][A-Za-z0-9_]*,is not an Ansible \
	group name: use letters$(,) digits and underscores)
$(foreach v,SERVER_WAIT LOCK_WAIT,$(call like,$(v),[0-9]+(ms|s|m|h)?,\
	is not a duration: write e.g. 90s$(,) 15m or 1h))
$(call like,SERVICES_DIR,/[^[:space:]]*[^/],is not an absolute \
	directory on the server: e.g. /root/coder-core/services/production)
domain-ere := ($(label-ere)\.)+$(label-ere)
$(foreach v,DOMAIN_SUFFIX DNS_ZONE,$(call like,$(v),$(domain-ere),is \
	not a domain name: e.g. example.com))
$(if $(filter $(DNS_ZONE),$(DOMAIN_SUFFIX))$(filter %.$(DNS_ZONE),\
	$(DOMAIN_SUFFIX)),,$(error DOMAIN_SUFFIX: '$(DOMAIN_SUFFIX)' is not \
	in DNS_ZONE '$(DNS_ZONE)': the records must live in that zone))

# Each DNS record is name:proxied or name:dns-only, named once; the
# name is the part before the zone (secrets for secrets.example.com).
DNS_NAMES := $(foreach r,$(DNS_RECORDS),$(firstword $(subst :, ,$(r))))
record-ere := ($(label-ere)\.)*$(label-ere):(proxied|dns-only)
$(foreach r,$(DNS_RECORDS),$(call like-value,DNS_RECORDS,$(r),\
	$(record-ere),is not a record: write name:proxied or \
	name:dns-only$(,) the name in lower case$(,) without the zone))
$(foreach n,$(sort $(DNS_NAMES)),$(if $(filter-out 1,\
	$(words $(filter $(n),$(DNS_NAMES)))),$(error DNS_RECORDS: '$(n)' \
	is listed twice: keep one)))

# Labels are key=value, each key once; mkprov/ is mkprov's own, and a
# role label must agree with the role the inventory gives the host.
LABEL_KEYS := $(foreach l,$(SERVER_LABELS),$(firstword $(subst =, ,$(l))))
# Hetzner's label rules: a key is a name, maybe after a DNS prefix and
# "/"; a name or value is 63 letters, digits, "-", "_" or "." at most,
# starting and ending with a letter or digit; a value may be empty.
hl-name-ere := [A-Za-z0-9]([A-Za-z0-9_.-]{0,61}[A-Za-z0-9])?
hl-key-ere := (($(label-ere)\.)*$(label-ere)/)?$(hl-name-ere)
label-kv-ere := $(hl-key-ere)=($(hl-name-ere))?
$(foreach l,$(SERVER_LABELS),$(call like-value,SERVER_LABELS,$(l),\
	$(label-kv-ere),is not a Hetzner label: write key=value$(,) \
	letters$(,) digits$(,) - _ . in each$(,) 63 at most))
$(if $(filter hetzner.cloud/%,$(SERVER_LABELS)),$(error SERVER_LABELS: \
	the prefix hetzner.cloud/ is Hetzner's own: use another key))
$(foreach k,$(sort $(LABEL_KEYS)),$(if $(filter-out 1,$(words \
	$(filter $(k),$(LABEL_KEYS)))),$(error SERVER_LABELS: '$(k)' is \
	given twice: keep one)))
$(if $(filter mkprov/%,$(SERVER_LABELS)),$(error SERVER_LABELS: the \
	prefix mkprov/ is mkprov's own: use another key))
$(if $(filter-out role=$(SERVER_ROLE),$(filter role=%,$(SERVER_LABELS))),\
	$(error SERVER_LABELS: '$(filter role=%,$(SERVER_LABELS))' \
	contradicts SERVER_ROLE '$(SERVER_ROLE)': make them agree))

endif
