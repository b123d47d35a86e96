package gen

// The iam fixture imports google/iam/v1/*.proto, which the fixtures'
// compiler finds among the files of linked Go packages (globalResolver).
import _ "cloud.google.com/go/iam/apiv1/iampb"
