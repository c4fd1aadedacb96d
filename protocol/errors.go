package protocol

import (
	"errors"
	"fmt"
)

// ErrorCode is a Kafka protocol error code. The names are Kafka's own, so a
// Kafka engineer can grep for them.
type ErrorCode int16

const (
	UnknownServerError               ErrorCode = -1
	None                             ErrorCode = 0
	OffsetOutOfRange                 ErrorCode = 1
	CorruptMessage                   ErrorCode = 2
	UnknownTopicOrPartition          ErrorCode = 3
	InvalidFetchSize                 ErrorCode = 4
	LeaderNotAvailable               ErrorCode = 5
	NotLeaderOrFollower              ErrorCode = 6
	RequestTimedOut                  ErrorCode = 7
	BrokerNotAvailable               ErrorCode = 8
	ReplicaNotAvailable              ErrorCode = 9
	MessageTooLarge                  ErrorCode = 10
	StaleControllerEpoch             ErrorCode = 11
	OffsetMetadataTooLarge           ErrorCode = 12
	NetworkException                 ErrorCode = 13
	CoordinatorLoadInProgress        ErrorCode = 14
	CoordinatorNotAvailable          ErrorCode = 15
	NotCoordinator                   ErrorCode = 16
	InvalidTopicException            ErrorCode = 17
	RecordListTooLarge               ErrorCode = 18
	NotEnoughReplicas                ErrorCode = 19
	NotEnoughReplicasAfterAppend     ErrorCode = 20
	InvalidRequiredAcks              ErrorCode = 21
	IllegalGeneration                ErrorCode = 22
	InconsistentGroupProtocol        ErrorCode = 23
	InvalidGroupID                   ErrorCode = 24
	UnknownMemberID                  ErrorCode = 25
	InvalidSessionTimeout            ErrorCode = 26
	RebalanceInProgress              ErrorCode = 27
	InvalidCommitOffsetSize          ErrorCode = 28
	TopicAuthorizationFailed         ErrorCode = 29
	GroupAuthorizationFailed         ErrorCode = 30
	ClusterAuthorizationFailed       ErrorCode = 31
	InvalidTimestamp                 ErrorCode = 32
	UnsupportedSaslMechanism         ErrorCode = 33
	IllegalSaslState                 ErrorCode = 34
	UnsupportedVersion               ErrorCode = 35
	TopicAlreadyExists               ErrorCode = 36
	InvalidPartitions                ErrorCode = 37
	InvalidReplicationFactor         ErrorCode = 38
	InvalidReplicaAssignment         ErrorCode = 39
	InvalidConfig                    ErrorCode = 40
	NotController                    ErrorCode = 41
	InvalidRequest                   ErrorCode = 42
	UnsupportedForMessageFormat      ErrorCode = 43
	PolicyViolation                  ErrorCode = 44
	OutOfOrderSequenceNumber         ErrorCode = 45
	DuplicateSequenceNumber          ErrorCode = 46
	InvalidProducerEpoch             ErrorCode = 47
	InvalidTxnState                  ErrorCode = 48
	InvalidProducerIDMapping         ErrorCode = 49
	InvalidTransactionTimeout        ErrorCode = 50
	ConcurrentTransactions           ErrorCode = 51
	TransactionCoordinatorFenced     ErrorCode = 52
	TransactionalIDAuthFailed        ErrorCode = 53
	SecurityDisabled                 ErrorCode = 54
	OperationNotAttempted            ErrorCode = 55
	KafkaStorageError                ErrorCode = 56
	LogDirNotFound                   ErrorCode = 57
	SaslAuthenticationFailed         ErrorCode = 58
	UnknownProducerID                ErrorCode = 59
	ReassignmentInProgress           ErrorCode = 60
	InvalidRecord                    ErrorCode = 87
	UnstableOffsetCommit             ErrorCode = 88
	ThrottlingQuotaExceeded          ErrorCode = 89
	ProducerFenced                   ErrorCode = 90
	ResourceNotFound                 ErrorCode = 91
	DuplicateResource                ErrorCode = 92
	UnacceptableCredential           ErrorCode = 93
	InconsistentVoterSet             ErrorCode = 94
	InvalidUpdateVersion             ErrorCode = 95
	FeatureUpdateFailed              ErrorCode = 96
	PrincipalDeserializationFailure  ErrorCode = 97
	SnapshotNotFound                 ErrorCode = 98
	PositionOutOfRange               ErrorCode = 99
	UnknownTopicID                   ErrorCode = 100
	DuplicateBrokerRegistration      ErrorCode = 101
	BrokerIDNotRegistered            ErrorCode = 102
	InconsistentTopicID              ErrorCode = 103
	InconsistentClusterID            ErrorCode = 104
	TransactionalIDNotFound          ErrorCode = 105
	FetchSessionTopicIDError         ErrorCode = 106
	IneligibleReplica                ErrorCode = 107
	NewLeaderElected                 ErrorCode = 108
	OffsetMovedToTieredStorage       ErrorCode = 109
	FencedMemberEpoch                ErrorCode = 110
	UnreleasedInstanceID             ErrorCode = 111
	UnsupportedAssignor              ErrorCode = 112
	StaleMemberEpoch                 ErrorCode = 113
	MismatchedEndpointType           ErrorCode = 114
	UnsupportedEndpointType          ErrorCode = 115
	UnknownControllerID              ErrorCode = 116
	TransactionAbortable             ErrorCode = 120
	RebootstrapRequired              ErrorCode = 129
	DelegationTokenNotFound          ErrorCode = 62
	FetchSessionIDNotFound           ErrorCode = 70
	InvalidFetchSessionEpoch         ErrorCode = 71
	ListenerNotFound                 ErrorCode = 72
	TopicDeletionDisabled            ErrorCode = 73
	FencedLeaderEpoch                ErrorCode = 74
	UnknownLeaderEpoch               ErrorCode = 75
	UnsupportedCompressionType       ErrorCode = 76
	StaleBrokerEpoch                 ErrorCode = 77
	OffsetNotAvailable               ErrorCode = 78
	MemberIDRequired                 ErrorCode = 79
	PreferredLeaderNotAvailable      ErrorCode = 80
	GroupMaxSizeReached              ErrorCode = 81
	FencedInstanceID                 ErrorCode = 82
	EligibleLeadersNotAvailable      ErrorCode = 83
	ElectionNotNeeded                ErrorCode = 84
	NoReassignmentInProgress         ErrorCode = 85
	GroupSubscribedToTopic           ErrorCode = 86
	GroupIDNotFound                  ErrorCode = 69
	NonEmptyGroup                    ErrorCode = 68
	InvalidPrincipalType             ErrorCode = 67
	DelegationTokenExpired           ErrorCode = 66
	DelegationTokenOwnerMismatch     ErrorCode = 65
	DelegationTokenRequestNotAllowed ErrorCode = 64
	DelegationTokenAuthorizationFail ErrorCode = 63
	DelegationTokenAuthDisabled      ErrorCode = 61
)

// Error is a Go error carrying a Kafka error code, so that code deep inside
// the broker can say which code the wire should see while keeping a precise
// message for the log.
type Error struct {
	Code ErrorCode
	Msg  string
}

// Error is the message alone, as Kafka sends it in a response's error
// message: handlers put it on the wire, and wrapping one *Error's text in
// another must not repeat a code the client already has in its own field.
func (e *Error) Error() string { return e.Msg }

// Errorf returns an *Error with code and a formatted message.
func Errorf(code ErrorCode, format string, args ...any) error {
	return &Error{Code: code, Msg: fmt.Sprintf(format, args...)}
}

// Code extracts the Kafka error code from err: None for nil, the code of the
// first *Error in the chain, UnknownServerError otherwise.
func Code(err error) ErrorCode {
	if err == nil {
		return None
	}
	var ke *Error
	if errors.As(err, &ke) {
		return ke.Code
	}
	return UnknownServerError
}
