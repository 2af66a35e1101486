// Package bluegreen turns the rendered objects of one release into the objects to apply for
// one colour of a blue-green rollout. It is a pure transform over unstructured objects: it
// never talks to the API server, so the controller decides when to call it and with which
// colours, and this package only says what those colours mean for each object.
//
// [Colorize] renames every Deployment to its colour copy ([Name]), puts the colour label
// ([ColorLabel]) in its selector and pod template so the two colours never select each
// other's pods, and copies per colour the ConfigMaps and Secrets its pod template uses, so the
// colour still serving keeps its configuration while the new colour gets the new one. The
// Services named as active or preview select a colour through the same label, and a
// HorizontalPodAutoscaler follows the active colour.
//
// The release hash that Colorize returns identifies what the release rolls: the rendered
// Deployments and their configuration, independent of colour, of replica overrides and of
// every other object. Each colour copy carries it in [ReleaseAnnotation], so the cluster alone
// tells which colour runs which release, after a controller restart too.
// [References] and [Workloads] answer the other questions the controller asks of the same
// objects.
package bluegreen
