package maintenance

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the maintenance jobs' collectors.
type Metrics struct {
	runs             *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	lastSuccess      *prometheus.GaugeVec
	snapshotsExpired prometheus.Counter
	expireConflicts  prometheus.Counter
	filesDeleted     *prometheus.CounterVec
	orphansFound     prometheus.Counter
	leader           prometheus.Gauge

	compactionConflicts *prometheus.CounterVec
	compactionTables    *prometheus.CounterVec
	compactionFiles     *prometheus.CounterVec // job, direction (read, written)
	compactionBytes     *prometheus.CounterVec // job, direction (read, written)
}

func newMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_runs_total",
			Help: "Maintenance job runs over all tables, by job and outcome (ok, or error when a table failed).",
		}, []string{"job", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ice_maintenance_run_duration_seconds",
			Help:    "Duration of one maintenance job run over all tables.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"job"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "ice_maintenance_last_success_timestamp_seconds",
			Help: "Unix time of the last run of a job that succeeded on every table.",
		}, []string{"job"}),
		snapshotsExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ice_maintenance_snapshots_expired_total",
			Help: "Snapshots removed from tables by the expire-snapshots job.",
		}),
		expireConflicts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ice_maintenance_expire_conflicts_total",
			Help: "Expiry commits that lost the race to a client commit and were planned again.",
		}),
		filesDeleted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_files_deleted_total",
			Help: "Files deleted by maintenance, by job.",
		}, []string{"job"}),
		orphansFound: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "ice_maintenance_orphan_files_found_total",
			Help: "Orphan files found older than the retention period (deleted unless dry run).",
		}),
		leader: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "ice_maintenance_leader",
			Help: "1 while this replica is the elected maintenance leader.",
		}),
		compactionConflicts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_compaction_conflicts_total",
			Help: "Compaction commits that conflicted with concurrent commits and were planned again or given up, by job.",
		}, []string{"job"}),
		compactionTables: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_compaction_tables_total",
			Help: "Tables compacted (a replace snapshot committed), by job.",
		}, []string{"job"}),
		compactionFiles: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_compaction_files_total",
			Help: "Files compaction replaced (read) and wrote (written), by job: data files or manifests.",
		}, []string{"job", "direction"}),
		compactionBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ice_maintenance_compaction_bytes_total",
			Help: "Bytes of the files compaction replaced (read) and wrote (written), by job.",
		}, []string{"job", "direction"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.runs, m.duration, m.lastSuccess, m.snapshotsExpired,
			m.expireConflicts, m.filesDeleted, m.orphansFound, m.leader,
			m.compactionConflicts, m.compactionTables, m.compactionFiles, m.compactionBytes} {
			if err := reg.Register(c); err != nil {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *Metrics) observeRun(job string, ok bool, d time.Duration) {
	outcome := "ok"
	if !ok {
		outcome = "error"
	}
	m.runs.WithLabelValues(job, outcome).Inc()
	m.duration.WithLabelValues(job).Observe(d.Seconds())
	if ok {
		m.lastSuccess.WithLabelValues(job).SetToCurrentTime()
	}
}

// compacted records one committed compaction.
func (m *Metrics) compacted(job string, r *CompactionResult) {
	m.compactionTables.WithLabelValues(job).Inc()
	m.compactionFiles.WithLabelValues(job, "read").Add(float64(r.InputFiles))
	m.compactionFiles.WithLabelValues(job, "written").Add(float64(r.OutputFiles))
	m.compactionBytes.WithLabelValues(job, "read").Add(float64(r.InputBytes))
	m.compactionBytes.WithLabelValues(job, "written").Add(float64(r.OutputBytes))
}
