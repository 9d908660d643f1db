package handlers

import (
	"embed"
	"io/fs"
	"time"

	"github.com/kefu-bot/kefu/bot"
	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/handlers/loyalty"
	"github.com/kefu-bot/kefu/handlers/priority"
	"github.com/kefu-bot/kefu/handlers/sla"
	"github.com/kefu-bot/kefu/models"
)

//go:embed locales/*.yaml
var locales embed.FS

// Locales are the handlers' texts, for bot.NewCatalog.
func Locales() fs.FS { return locales }

// Deps are what the handlers need from outside the turn. Zero fields take
// the documented defaults: always open, sla.DefaultPolicy,
// priority.DefaultRules, warnings at 80%, auto-close after 72h, reopen
// within 7 days, UTC, loyalty.DefaultRules with no upgrade coupon.
type Deps struct {
	ShopName     string
	Location     *time.Location
	Calendar     *sla.Calendar
	Policy       sla.Policy
	Priority     *priority.Rules
	WarnAt       float64
	AutoClose    time.Duration
	ReopenWindow time.Duration
	// Points is the loyalty programme; pass the same value to the order
	// import and surveys so they earn through OrderChanged and
	// SurveyCompleted.
	Points *Points
	// Retention is how long message texts and attachments are kept.
	Retention models.Retention
	// Orders. OrderHooks run on every order status change, in the
	// order.changed job (PointsHook, the survey after delivery).
	// ReturnWindow: zero is 7 days (7天无理由退货), negative refuses
	// every return request in chat. NotifyStatuses nil: shipped, delayed,
	// delivered, cancelled, refunded. QuietHours zero: none.
	OrderHooks     []OrderHook
	ReturnWindow   time.Duration
	QuietHours     QuietHours
	NotifyStatuses []string
	// Surveys schedules CSAT, NPS and questionnaires; pass the same value
	// to the order import (OrderDelivered) and campaigns.
	Surveys *Surveys
	// Insight: customer segments and care campaigns; nil is NewInsight
	// with defaults and no campaigns. Add CampaignHook to OrderHooks for
	// campaigns triggered by a delivery.
	Insight *Insight
}

// Register maps every command, button, intent, flow and job kind to its
// handler. This is the one place to read to know what the bot does.
func Register(r *bot.Router, d Deps) {
	h := newHandlers(d)

	// Customers: commands.
	r.Command("start", "cmd.start", h.start)
	r.Command("help", "cmd.help", h.help)
	r.Command("menu", "cmd.help", h.help)
	r.Command("language", "cmd.language", h.chooseLanguage)
	r.Command("human", "cmd.human", h.startHandoff)
	r.Command("cancel", "cmd.cancel", h.cancel)
	r.Command("complaint", "cmd.complaint", h.startComplaint)
	r.Command("points", "cmd.points", h.pointsBalance)
	r.Command("rewards", "cmd.rewards", h.rewards)

	// Customers: buttons.
	r.Button("menu", h.menuButton)
	r.Button("lang", h.setLanguage)
	r.Button("handoff", h.handoffButton)
	r.Button("cg", h.complaintGroup)
	r.Button("cc", h.complaintCategory)
	r.Button("cp", h.complaintButton)
	r.Button("fu", h.followUpButton)
	r.Button("rw", h.rewardButton)

	// Customers: what they say.
	r.Intent(nlu.Greeting, h.greet)
	r.Intent(nlu.Help, h.help)
	r.Intent(nlu.HumanAgent, h.startHandoff)
	r.Intent(nlu.Complaint, h.startComplaint)
	r.Intent(nlu.Feedback, h.thankFeedback)
	r.Intent(nlu.PointsBalance, h.pointsBalance)
	r.Intent(nlu.PointsRedeem, h.rewards)
	// Privacy: a customer's own data, and forgetting it.
	r.Command("mydata", "cmd.mydata", h.myData)
	r.Command("forget", "cmd.forget", h.forget)
	r.Button("pv", h.privacyButton)
	r.Button("cs", h.consentButton)
	r.Intent(nlu.PrivacyExport, h.myData)
	r.Intent(nlu.PrivacyDelete, h.forget)
	r.Job(jobPrivacyPurge, h.runPurge)
	r.Job(jobPrivacyScrub, h.runScrub)

	r.Flow(flowComplaint, h.complaintStep)
	r.Flow(flowFollowUp, h.followUpText)
	r.Handoff(h.relayToStaff)
	r.Fallback(h.fallback)

	// Staff desk.
	r.StaffButton("st", h.staffButton)
	r.StaffCommand("tickets", h.staffTickets)
	r.StaffCommand("claim", h.staffClaim)
	r.StaffCommand("reply", h.staffReply)
	r.StaffCommand("resolve", h.staffResolve)
	r.StaffCommand("reopen", h.staffReopen)
	r.StaffCommand("note", h.staffNote)
	r.StaffCommand("priority", h.staffPriority)
	r.StaffCommand("transfer", h.staffTransfer)
	r.StaffCommand("customer", h.staffCustomer)
	r.StaffCommand("compensate", h.staffCompensate)
	r.StaffCommand("adjust", h.staffAdjust)
	r.StaffHelp(h.staffHelp)
	r.StaffText(h.staffText)

	// Linking accounts across channels (Telegram and Discord).
	r.Command("link", "cmd.link", h.link)
	r.Button("lk", h.linkButton)

	// Timed work.
	r.Job(jobSLA, h.runSLA)
	r.Job(jobAutoClose, h.runAutoClose)
	r.Job(jobClose, h.runClose)
	r.Job(jobPointsExpire, h.runPointsExpire)
	r.Job(jobPointsRemind, h.runPointsRemind)
	r.Job(jobPointsTiers, h.runPointsTiers)
	r.Job(jobPointsNotice, h.runPointsNotice)

	// Orders and returns.
	r.Command("orders", "cmd.orders", h.listOrders)
	r.Command("return", "cmd.return", h.startReturn)
	r.Command("returns", "cmd.returns", h.returnStatus)
	r.Command("stop", "cmd.stop", h.stop)
	r.Command("notify", "cmd.notify", h.resumeNotices)
	r.Button("ord", h.orderButton)
	r.Button("rt", h.returnButton)
	r.Intent(nlu.OrderStatus, h.orderStatus)
	r.Intent(nlu.ReturnRefund, h.returnIntent)
	r.Flow(flowOrder, h.orderStep)
	r.Flow(flowReturn, h.returnStep)
	r.StaffCommand("approve", h.staffApprove)
	r.StaffCommand("reject", h.staffReject)
	r.StaffCommand("order", h.staffOrder)
	r.Job(models.JobOrderChanged, h.runOrderChanged)
	// Surveys.
	r.Command("nosurvey", "cmd.nosurvey", h.noSurvey)
	r.Button("sv", h.surveyButton)
	r.Intent(nlu.Unsubscribe, h.askSurveyOptOut)
	r.Flow(flowSurvey, h.surveyStep)
	r.Job(jobSurveySend, h.runSurveySend)
	r.Job(jobSurveyExpire, h.runSurveyExpire)
	// Customer insight: segments and care campaigns.
	r.Command("nomarketing", "cmd.nomarketing", h.noMarketing)
	r.Command("marketing", "cmd.marketing", h.yesMarketing)
	r.Command("birthday", "cmd.birthday", h.birthday)
	r.Job(jobInsightNightly, h.runInsightNightly)
	r.Job(jobCampaignRun, h.runCampaign)
	r.Job(jobCampaignSend, h.runCampaignSend)
}

type handlers struct {
	shop         string
	loc          *time.Location
	cal          sla.Calendar
	policy       sla.Policy
	priority     priority.Rules
	warnAt       float64
	autoClose    time.Duration
	reopenWindow time.Duration
	points       *Points
	retention    models.Retention
	// Orders.
	orderHooks     []OrderHook
	returnWindow   time.Duration
	quiet          QuietHours
	notifyStatuses []string
	surveys        *Surveys
	insight        *Insight
}

func newHandlers(d Deps) *handlers {
	h := &handlers{shop: d.ShopName, loc: d.Location, policy: d.Policy, warnAt: d.WarnAt,
		autoClose: d.AutoClose, reopenWindow: d.ReopenWindow, points: d.Points,
		retention:  d.Retention,
		orderHooks: d.OrderHooks, returnWindow: d.ReturnWindow, quiet: d.QuietHours, notifyStatuses: d.NotifyStatuses,
		surveys: d.Surveys, insight: d.Insight}
	if h.returnWindow == 0 {
		h.returnWindow = 7 * 24 * time.Hour
	}
	if h.notifyStatuses == nil {
		h.notifyStatuses = defaultNotifyStatuses
	}
	if h.loc == nil {
		h.loc = time.UTC
	}
	if h.points == nil {
		h.points = NewPoints(loyalty.DefaultRules(), h.loc, "")
	}
	if h.insight == nil {
		h.insight = NewInsight(InsightOptions{Shop: h.shop, Points: h.points}, h.loc)
	}
	if h.surveys == nil {
		h.surveys = NewSurveys(DefaultSurveyOptions(), h.loc)
	}
	if d.Calendar != nil {
		h.cal = *d.Calendar
	} else {
		// "24/7" always parses; an error here is a bug in sla.
		cal, err := sla.ParseCalendar(h.loc, "24/7", nil, nil)
		if err != nil {
			panic(err)
		}
		h.cal = cal
	}
	if h.policy == nil {
		h.policy = sla.DefaultPolicy()
	}
	h.priority = priority.DefaultRules()
	if d.Priority != nil {
		h.priority = *d.Priority
	}
	if h.warnAt <= 0 || h.warnAt >= 1 {
		h.warnAt = 0.8
	}
	if h.autoClose <= 0 {
		h.autoClose = 72 * time.Hour
	}
	if h.reopenWindow <= 0 {
		h.reopenWindow = 7 * 24 * time.Hour
	}
	return h
}
