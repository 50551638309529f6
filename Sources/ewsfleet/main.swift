import EWSFleetCLI

await EWSFleetCommand.execute()
