package dashboard

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/plexushq/plexus/internal/pubsub"
)

// pubsubData is the body of the pub/sub pages.
type pubsubData struct {
	Topics        []pubsub.TopicStats
	Subscriptions []pubsub.SubscriptionStats
	// Sub is the subscription of a subscription's page, with a page of
	// its queue (or of its dead letters, with Dead).
	Sub          *pubsub.SubscriptionStats
	Page         *pubsub.Page
	Dead         bool
	Offset, Next int
	Prev         int
	// Message is the message of a message's page, as JSON.
	Message string
	Answer  *actionAnswer
}

// pubsubPageSize is how many messages the queue browser shows at once.
const pubsubPageSize = 50

// pubsubPage lists the topics with their depth and the subscriptions
// with their backlog, in-flight messages, oldest age and dead letters.
func (d *Dashboard) pubsubPage(w http.ResponseWriter, r *http.Request, s *session) {
	pd := &pubsubData{}
	ts := d.call(r, http.MethodGet, "/pubsub/topics", nil, "")
	ss := d.call(r, http.MethodGet, "/pubsub/subscriptions", nil, "")
	if ts.Status != http.StatusOK || json.Unmarshal(ts.Body, &pd.Topics) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Pub/sub", messageData{Message: "The topics could not be read: " + refusalText(ts)}))
		return
	}
	if ss.Status != http.StatusOK || json.Unmarshal(ss.Body, &pd.Subscriptions) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Pub/sub", messageData{Message: "The subscriptions could not be read: " + refusalText(ss)}))
		return
	}
	d.render(w, r, http.StatusOK, "pubsub", d.page(r, s, "Pub/sub", pd))
}

// subscriptionPage shows a subscription's numbers, the buttons that
// clear, redeliver, pause and resume it, and a page of its queue
// (?offset=, ?dead=1 for the dead letters).
func (d *Dashboard) subscriptionPage(w http.ResponseWriter, r *http.Request, s *session) {
	d.showSubscription(w, r, s, &pubsubData{})
}

func (d *Dashboard) showSubscription(w http.ResponseWriter, r *http.Request, s *session, pd *pubsubData) {
	name := r.PathValue("name")
	ans := d.call(r, http.MethodGet, "/pubsub/subscriptions/"+url.PathEscape(name), nil, "")
	if ans.Status == http.StatusNotFound {
		d.notFound(w, r, s, "No pub/sub subscription named "+strconv.Quote(name)+".")
		return
	}
	var sub pubsub.SubscriptionStats
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &sub) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Pub/sub", messageData{Message: "The subscription could not be read: " + refusalText(ans)}))
		return
	}
	pd.Sub = &sub
	q := r.URL.Query()
	pd.Dead = q.Get("dead") == "1"
	pd.Offset, _ = strconv.Atoi(q.Get("offset"))
	pd.Offset = max(pd.Offset, 0)
	v := url.Values{"offset": {strconv.Itoa(pd.Offset)}, "limit": {strconv.Itoa(pubsubPageSize)}}
	if pd.Dead {
		v.Set("state", pubsub.StateDead)
	}
	ans = d.call(r, http.MethodGet, "/pubsub/subscriptions/"+url.PathEscape(name)+"/messages?"+v.Encode(), nil, "")
	var page pubsub.Page
	if ans.Status != http.StatusOK || json.Unmarshal(ans.Body, &page) != nil {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Pub/sub", messageData{Message: "The queue could not be read: " + refusalText(ans)}))
		return
	}
	pd.Page = &page
	pd.Prev = max(pd.Offset-pubsubPageSize, 0)
	if pd.Offset+len(page.Messages) < page.Total {
		pd.Next = pd.Offset + pubsubPageSize
	}
	d.render(w, r, http.StatusOK, "pubsub", d.page(r, s, "Subscription "+name, pd))
}

// subscriptionAction clears, redelivers, pauses or resumes a
// subscription through the kind's actions in the admin API.
func (d *Dashboard) subscriptionAction(w http.ResponseWriter, r *http.Request, s *session) {
	name, act := r.PathValue("name"), r.PathValue("action")
	var body []byte
	if id := r.PostFormValue("msg_id"); id != "" && act == "redeliver" {
		body, _ = json.Marshal(pubsub.IDsBody{MsgIDs: []string{id}})
	}
	ans := d.call(r, http.MethodPost, "/objects/"+pubsub.KindSubscription+"/"+url.PathEscape(name)+"/"+url.PathEscape(act), body, "application/json")
	d.showSubscription(w, r, s, &pubsubData{Answer: &actionAnswer{Action: act, Status: ans.Status, Body: prettyJSON(ans.Body), CID: ans.cid()}})
}

// pubsubMessagePage shows one message with its data and deliveries.
func (d *Dashboard) pubsubMessagePage(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	ans := d.call(r, http.MethodGet, "/pubsub/messages/"+url.PathEscape(id), nil, "")
	if ans.Status == http.StatusNotFound {
		d.notFound(w, r, s, "No queue holds message "+strconv.Quote(id)+": it was delivered, cleared or expired.")
		return
	}
	if ans.Status != http.StatusOK {
		d.render(w, r, http.StatusBadGateway, "message", d.page(r, s, "Pub/sub", messageData{Message: "The message could not be read: " + refusalText(ans)}))
		return
	}
	d.render(w, r, http.StatusOK, "pubsub", d.page(r, s, "Message "+id, &pubsubData{Message: prettyJSON(ans.Body)}))
}
