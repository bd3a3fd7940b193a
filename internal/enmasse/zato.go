package enmasse

import (
	"maps"
	"slices"
	"strings"

	"github.com/plexushq/plexus/internal/registry"
)

// zatoSections returns the section names of Zato's enmasse files (3.2 and
// current, ZATO-BEHAVIOUR §7), with what they hold. A section that a
// registered kind declares (as its id or an alias) is imported; one of
// these that no kind declares yet is skipped with a warning, so a Zato
// user's file imports everything Plexus supports. Any other section is an
// error.
func zatoSections() map[string]string {
	return map[string]string{
		// Current Zato, in its dependency order (util/orders.py).
		"quota_tier": "quota tiers", "security": "security definitions", "groups": "security groups",
		"channel_rest": "REST channels", "channel_soap": "SOAP channels", "channel_as4": "AS4 channels",
		"outgoing_rest": "outgoing REST connections", "scheduler": "scheduler jobs", "ldap": "LDAP connections",
		"llm": "LLM connections", "odata": "OData connections", "sap": "SAP connections",
		"mongodb": "MongoDB connections", "outgoing_soap": "outgoing SOAP connections",
		"outgoing_as2": "outgoing AS2 connections", "outgoing_as4": "outgoing AS4 connections",
		"microsoft_cloud": "Microsoft 365 connections", "microsoft_fabric": "Microsoft Fabric connections",
		"microsoft_power_automate": "Power Automate connections", "microsoft_teams": "Microsoft Teams connections",
		"slack": "Slack connections", "confluence": "Confluence connections", "jira": "Jira connections",
		"salesforce": "Salesforce connections", "channel_ibm_mq": "IBM MQ channels", "outgoing_ibm_mq": "outgoing IBM MQ connections",
		"channel_amqp": "AMQP channels", "outgoing_amqp": "outgoing AMQP connections",
		"channel_azure_service_bus": "Azure Service Bus channels", "outgoing_azure_service_bus": "outgoing Azure Service Bus connections",
		"channel_kafka": "Kafka channels", "mcp_gateway": "MCP gateways", "rule_engine_api": "rule engine APIs",
		"outgoing_graphql": "outgoing GraphQL connections", "outgoing_grpc": "outgoing gRPC connections",
		"outgoing_kafka": "outgoing Kafka connections", "channel_mllp": "HL7 MLLP channels",
		"outgoing_mllp": "outgoing HL7 MLLP connections", "outgoing_fhir": "outgoing HL7 FHIR connections",
		"email_imap": "IMAP connections", "email_smtp": "SMTP connections", "odoo": "Odoo connections",
		"elastic_search": "Elasticsearch connections", "sftp": "SFTP connections", "smb": "SMB connections",
		"ftp": "FTP connections", "pubsub_topic": "pub/sub topics", "pubsub_permission": "pub/sub permissions",
		"pubsub_subscription": "pub/sub subscriptions", "channel_openapi": "OpenAPI channels",
		"alert_rules": "alert rules", "alert_notifications": "alert notifications",
		"audit_retention": "audit log retention", "audit_extraction": "audit log extraction",
		// Current Zato's other names for them (config.py).
		"outgoing_ldap": "LDAP connections", "outgoing_mongodb": "MongoDB connections", "outgoing_odata": "OData connections",
		"outgoing_sap": "SAP connections", "grpc": "outgoing gRPC connections", "outgoing_elastic_search": "Elasticsearch connections",
		"outgoing_sftp": "SFTP connections", "outgoing_smb": "SMB connections", "outgoing_ftp": "FTP connections",
		"cloud_microsoft_fabric": "Microsoft Fabric connections", "cloud_microsoft_power_automate": "Power Automate connections",
		// Zato 3.2.
		"def_sec": "security definitions", "http_soap": "HTTP and SOAP channels and connections",
		"channel_plain_http": "REST channels", "outconn_plain_http": "outgoing REST connections",
		"outconn_soap": "outgoing SOAP connections", "outconn_ftp": "FTP connections",
		"outconn_ldap": "LDAP connections", "outconn_mongodb": "MongoDB connections", "outconn_odoo": "Odoo connections",
		"outconn_sap": "SAP connections", "outconn_redis": "Redis connections", "outconn_amqp": "outgoing AMQP connections",
		"outconn_jms_wmq": "outgoing IBM MQ connections", "outconn_zmq": "outgoing ZeroMQ connections",
		"channel_jms_wmq": "IBM MQ channels", "channel_zmq": "ZeroMQ channels",
		"def_amqp": "AMQP definitions", "def_jms_wmq": "IBM MQ definitions", "def_cassandra": "Cassandra connections",
		"query_cassandra": "Cassandra queries", "web_socket": "WebSocket channels", "json_rpc": "JSON-RPC channels",
		"pubsub_endpoint": "pub/sub endpoints", "pubsub_sub": "pub/sub subscriptions", "search_es": "Elasticsearch connections",
		"search_solr": "Solr connections", "cloud_aws_s3": "AWS S3 connections", "notif_sql": "SQL notifications",
		"zato_cache_builtin": "built-in caches", "zato_generic_connection": "generic connections",
		"zato_generic_rest_wrapper": "REST wrappers", "security_groups": "security groups", "vault_conn_sec": "Vault connections",
		"tls_ca_cert": "TLS CA certificates", "tls_channel_sec": "TLS channel security", "tls_key_cert": "TLS keys and certificates",
		"rbac_permission": "RBAC permissions", "rbac_role": "RBAC roles", "rbac_client_role": "RBAC client roles",
		"rbac_role_permission": "RBAC role permissions",
	}
}

// ZatoSection is a section of Zato's enmasse files that Plexus does not
// import yet.
type ZatoSection struct {
	Name  string
	Title string // what it holds, e.g. "Kafka channels"
}

// foldedZatoSections are the Zato 3.2 sections that no kind declares but
// that import folds into other objects (zato_amqp.go, zato_pubsub.go).
var foldedZatoSections = []string{amqpDefSection, pubsubEndpointSection}

// UnsupportedZatoSections returns the sections of Zato's enmasse files
// that no kind declares yet, sorted by name: an import skips them with a
// warning.
func UnsupportedZatoSections() []ZatoSection {
	var out []ZatoSection
	for name, title := range zatoSections() {
		if _, ok := registry.Lookup(name); !ok && !slices.Contains(foldedZatoSections, name) {
			out = append(out, ZatoSection{Name: name, Title: title})
		}
	}
	slices.SortFunc(out, func(a, b ZatoSection) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// httpSOAPSection is the section an http_soap object belongs in, by its
// connection and transport (Zato 3.2 kept channels and outgoing
// connections of both transports in one table).
func httpSOAPSection(connection, transport string) (string, bool) {
	s, ok := map[[2]string]string{
		{"channel", "plain_http"}:  "channel_plain_http",
		{"outgoing", "plain_http"}: "outconn_plain_http",
		{"channel", "soap"}:        "channel_soap",
		{"outgoing", "soap"}:       "outconn_soap",
	}[[2]string{connection, transport}]
	return s, ok
}

// isHTTPSOAPSection reports whether a section's objects may carry Zato's
// connection and transport keys.
func isHTTPSOAPSection(section string) bool {
	switch section {
	case "http_soap", "channel_plain_http", "outconn_plain_http", "channel_soap", "outconn_soap",
		"channel_rest", "outgoing_rest", "outgoing_soap":
		return true
	}
	return false
}

// suggestSection returns the section name closest to s, or "": a
// registered kind's id or alias, or a Zato section (which may be one Plexus
// skips), whichever is closer, the kind's on a tie.
func suggestSection(s string) string {
	var names []string
	for _, k := range registry.All() {
		names = append(names, k.ID)
		names = append(names, k.Aliases...)
	}
	zato := slices.Sorted(maps.Keys(zatoSections()))
	return registry.Suggest(s, append(names, zato...))
}
