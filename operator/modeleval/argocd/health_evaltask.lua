-- Argo CD health check for modeleval.io/EvalTask (Lua 5.1, as gopher-lua runs it).
-- Reads status.state; status.observedGeneration behind metadata.generation
-- means the operator has not seen the latest spec yet.
local hs = {}
local states = {
  Succeeded = "Healthy",
  Queued = "Progressing",
  Running = "Progressing",
  RunningWithManualBegin = "Progressing",
  RunningWithMetricsCalculating = "Progressing",
  Stopping = "Progressing",
  Failed = "Degraded",
  Stopped = "Suspended",
}

local status = obj.status
if status == nil or status.state == nil or status.state == "" then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to accept the task"
  return hs
end

local generation = obj.metadata and obj.metadata.generation
local observed = status.observedGeneration
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "Waiting for the operator to observe generation " .. tostring(generation)
  return hs
end

local health = states[status.state]
if health == nil then
  hs.status = "Unknown"
  hs.message = "Unknown state " .. tostring(status.state)
  return hs
end

hs.status = health
local message = status.state
if status.percentage ~= nil then
  message = message .. " (" .. tostring(status.percentage) .. "%)"
end
if status.totalScore ~= nil then
  message = message .. ", total score " .. tostring(status.totalScore)
end
if status.message ~= nil and status.message ~= "" then
  message = message .. ": " .. status.message
end
hs.message = message
return hs
